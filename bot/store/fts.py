"""Full-text preparation: Japanese has no spaces, so CJK runs are indexed as overlapping bigrams.

"半導体" is stored as "半導 導体", and a query for 量子 or 日米 (two characters, the commonest
length of a Japanese word) matches exactly one token. English goes through FTS5's porter stemmer.
"""

from __future__ import annotations

import re

from bot.cjk import CJK_RUN, bigrams

WORD = re.compile(r"\w+")
# a query's pieces: a quoted phrase ("open ran", an unclosed quote running to the end) or a
# piece between spaces, as str.split gives them (a piece that does not open with a quote)
PIECE = re.compile(r'-*"[^"]*(?:"|$)|\S+')


def index_text(text: str) -> str:
    """Text as stored in the FTS table."""
    return CJK_RUN.sub(lambda m: f" {' '.join(bigrams(m.group(0)))} ", text)


MAX_TERMS = 32


def match_query(query: str) -> str | None:
    """A user's words -> an FTS5 MATCH expression: every word required, except that `a OR b`
    needs either and `-word` excludes; each word (or hyphenated, dotted compound, or "quoted
    words": their words in a row) is a quoted phrase, so no operator of FTS5's own can be injected."""
    groups, excluded = _parse(query)
    if not groups:
        return None
    wanted = " AND ".join(groups)
    return f"{wanted} NOT ({' OR '.join(excluded)})" if excluded else wanted


def match_groups(query: str) -> list[str]:
    """The required parts of `match_query(query)`, each an expression of its own (a phrase, or
    phrases joined by OR): the expression is their AND, less the excluded words."""
    return _parse(query)[0]


Phrase = tuple[tuple[str, ...], bool]  # its tokens (\w+ only), and whether the last is a prefix


def _parse(query: str) -> tuple[list[str], list[str]]:
    groups, excluded = _words(query)
    return ([_fts5(g[0]) if len(g) == 1 else f"({' OR '.join(map(_fts5, g))})" for g in groups],
            [_fts5(p) for p in excluded])


def _words(query: str) -> tuple[list[list[Phrase]], list[Phrase]]:
    """The required groups of phrases (each group met by any of its phrases) and the excluded
    phrases of a user's words: what both backends' queries are written from."""
    groups: list[list[Phrase]] = []
    excluded: list[Phrase] = []
    either = False  # the last word was OR
    for piece in pieces(query):
        if piece == "OR":
            either = bool(groups)
            continue
        negative = piece.startswith("-")
        phrase = _phrase(piece.lstrip("-"))
        if phrase is None:
            continue
        if negative:
            excluded.append(phrase)
        elif either:
            groups[-1].append(phrase)
        elif [phrase] not in groups:
            groups.append([phrase])
        either = False
        if len(groups) + len(excluded) == MAX_TERMS:  # a pasted page is not a query: its
            break  # first words are
    return groups, excluded


def parse(query: str) -> tuple[list[list[Phrase]], list[Phrase]]:
    """The required groups and excluded phrases of a user's words (what search runs), for
    matchers of their own (bot.watches)."""
    return _words(query)


def phrase(word: str) -> Phrase | None:
    """One word (or "quoted words", without their quotes) as the parse reads it."""
    return _phrase(word)


def pieces(query: str) -> list[str]:
    """A user's words as the parse reads them: "quoted words" are one piece."""
    return PIECE.findall(query)


def _phrase(word: str) -> Phrase | None:
    tokens = WORD.findall(index_text(word))
    if len(tokens) == 1 and len(tokens[0]) == 1 and CJK_RUN.fullmatch(tokens[0]):
        return (tokens[0],), True  # one kanji: any bigram that starts with it
    return (tuple(tokens[:MAX_TERMS]), False) if tokens else None


def _fts5(phrase: Phrase) -> str:
    tokens, prefix = phrase
    return f'"{tokens[0]}"*' if prefix else '"' + " ".join(tokens) + '"'


def tsquery_words(query: str) -> tuple[list[list[str]], list[str]] | None:
    """A user's words as PostgreSQL tsquery sources, for `to_tsquery('english', ...)` (which
    stems them as the index was, and drops stopwords): the required groups, each a list of
    phrases (one of which a match holds), and the excluded phrases; None for no words. Each
    token is \\w+ and single-quoted: no operator of tsquery's own can be injected. A phrase is
    its tokens in a row ("US-Japan": 'us' <-> 'japan'); one kanji, a prefix ('米':*)."""
    groups, excluded = _words(query)
    if not groups:
        return None
    return [[_tsquery(p) for p in g] for g in groups], [_tsquery(p) for p in excluded]


def _tsquery(phrase: Phrase) -> str:
    tokens, prefix = phrase
    return " <-> ".join(f"'{t}'" for t in tokens) + (":*" if prefix else "")


def snippet(text: str, query: str, width: int = 200) -> str:
    """The passage of `text` around the first word of `query` it contains (readable, unlike
    FTS5's snippet of the bigram index). Only the text around that word is read again: an
    article is kilobytes, a snippet two hundred characters."""
    words = WORD.findall(query)
    found = (re.search("|".join(map(re.escape, words)), text, re.IGNORECASE)
             if words else None)
    at = found.start() if found else 0
    head, tail = max(0, at - 2 * width), at + 2 * width
    flat = " ".join(text[head:tail].split())
    lowered = flat.lower()
    positions = [lowered.find(w.lower()) for w in words]
    start = min((p for p in positions if p >= 0), default=0)
    begin = max(0, start - width // 3)
    piece = flat[begin:begin + width]
    more = begin + width < len(flat) or (tail < len(text) and text[tail:].strip())
    return ("…" if begin or (head and text[:head].strip()) else "") + piece + ("…" if more else "")

