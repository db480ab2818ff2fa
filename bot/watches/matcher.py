"""Saved queries compiled into one matcher that tells which of them an article matches, with
the semantics of archive search (bot.store.fts parses both: every word required, `a OR b`,
`-word`, "quoted words" in a row, Japanese as overlapping bigrams, one kanji a prefix).

Words are compared as SQLite's index holds them: each distinct word goes once through the very
tokenizer of the archive's FTS5 table (porter, unicode61, diacritics removed), in an in-memory
table, and its terms are kept, so "semiconductors" finds "semiconductor" as search does. Those
terms are cached: a cycle's articles share most of their words with the last cycle's.

An article is tokenised once (its terms, their positions for phrases) and only the watches
holding one of its terms in their key group (a required group, each of whose phrases has a
term indexed) are tested: with a thousand watches, most are never looked at for an article.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.cjk import CJK_RUN, bigrams
from bot.store import fts

TOKENIZER = "porter unicode61 remove_diacritics 2"  # as bot.store.dialect.FTS5_TABLE
CACHE = 200_000  # words whose terms are kept (then the cache starts again)


class _Terms:
    """Words -> their FTS5 terms (a word may give none, or two: "a_b"), cached."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(f"CREATE VIRTUAL TABLE w USING fts5(word, tokenize = '{TOKENIZER}')")
        self._db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(w, instance)")
        self._known: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def of(self, words: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The terms of each word, tokenised in one batch for the words not seen before."""
        words = set(words)
        with self._lock:
            new = [w for w in words if w not in self._known]
            if new:
                if len(self._known) + len(new) > CACHE:
                    self._known.clear()
                with self._db:
                    self._db.executemany("INSERT INTO w(rowid, word) VALUES (?, ?)",
                                         enumerate(new, 1))
                    found: dict[int, list[tuple[int, str]]] = {}
                    for doc, offset, term in self._db.execute("SELECT doc, offset, term FROM v"):
                        found.setdefault(doc, []).append((offset, term))
                    self._db.execute("DELETE FROM w")
                for i, word in enumerate(new, 1):
                    self._known[word] = tuple(t for _, t in sorted(found.get(i, ())))
            return {w: self._known[w] for w in words}


_TERMS = _Terms()


def tokens(text: str) -> list[tuple[str, int, int]]:
    """The words of a text as fts.index_text and the index read them (a CJK run as its
    overlapping bigrams, each of its \\w+ words), with their spans in the text."""
    found: list[tuple[str, int, int]] = []
    at = 0
    for run in CJK_RUN.finditer(text):
        found += [(w.group(0), w.start(), w.end()) for w in fts.WORD.finditer(text, at, run.start())]
        start = run.start()
        for i, pair in enumerate(bigrams(run.group(0)), start):
            if pair.isalnum():
                found.append((pair, i, i + len(pair)))
            else:  # a mark inside the run (・): its words
                found += [(w.group(0), i + w.start(), i + w.end()) for w in fts.WORD.finditer(pair)]
        at = run.end()
    found += [(w.group(0), w.start(), w.end()) for w in fts.WORD.finditer(text, at)]
    return found


def _terms(text: str) -> list[tuple[str, int, int]]:
    """A text's terms in order, with the span of the word each comes from."""
    words = tokens(text)
    known = _TERMS.of(w for w, _, _ in words)
    return [(t, start, end) for w, start, end in words for t in known[w]]


@dataclass(frozen=True)
class Phrase:
    """Terms in a row; `prefix`: the last (one kanji) starts a term rather than equals it."""

    terms: tuple[str, ...]
    prefix: bool
    words: str  # its words to show (fts's tokens, a CJK run whole again): for highlighting


@dataclass(frozen=True)
class Watch:
    """One compiled query: each required group met by any of its phrases, no excluded one."""

    id: int
    query: str
    groups: tuple[tuple[Phrase, ...], ...]
    excluded: tuple[Phrase, ...]


def compile_watch(watch_id: int, query: str) -> Watch:
    """A query parsed as search parses it; ValueError (one line naming the problem) for a query
    search could not run as meant: no words, only excluded words, more than fts.MAX_TERMS."""
    terms = [p for p in fts.pieces(query) if p != "OR" and fts.phrase(p.lstrip("-"))]
    if len(terms) > fts.MAX_TERMS:
        raise ValueError(f"too many words in the query: {len(terms)}, at most {fts.MAX_TERMS}")
    groups, excluded = fts.parse(query)
    if not groups:
        raise ValueError("the query has only excluded words: say what to find"
                         if excluded else "the query has no words to find")
    words = {t for g in groups for p in g for t in p[0]} | {t for p in excluded for t in p[0]}
    known = _TERMS.of(words)

    def phrase(p: fts.Phrase) -> Phrase:
        parts, prefix = p
        return Phrase(parts if prefix else tuple(t for w in parts for t in known[w]), prefix,
                      shown(parts))

    compiled = tuple(tuple(phrase(p) for p in g) for g in groups)
    if any(not p.terms for g in compiled for p in g):
        raise ValueError("the query has a word that cannot be searched")
    return Watch(watch_id, query, compiled, tuple(p for p in map(phrase, excluded) if p.terms))


class _Article:
    """An article's terms, read once: the set, where each stands (title and text apart: a phrase
    is in one of them), and the first characters (for a kanji prefix)."""

    def __init__(self, title: str, text: str) -> None:
        self.columns = [[t for t, _, _ in _terms(title)], [t for t, _, _ in _terms(text)]]
        self.at: list[dict[str, list[int]]] = []
        for column in self.columns:
            positions: dict[str, list[int]] = {}
            for i, term in enumerate(column):
                positions.setdefault(term, []).append(i)
            self.at.append(positions)
        self.terms = set(self.at[0]) | set(self.at[1])
        self.firsts = {t[0] for t in self.terms}

    def has(self, phrase: Phrase) -> bool:
        first = phrase.terms[0]
        if phrase.prefix:  # one kanji (fts.phrase): any term starting with it
            return first in self.firsts
        if first not in self.terms:
            return False
        rest = phrase.terms[1:]
        if not rest:
            return True
        if any(t not in self.terms for t in rest):
            return False
        return any(column[i + 1:i + len(phrase.terms)] == list(rest)
                   for column, positions in zip(self.columns, self.at, strict=True)
                   for i in positions.get(first, ()))


class Matcher:
    """Compiled watches, indexed by a key term of each: an article is tested against the
    watches one of whose key terms it holds."""

    def __init__(self, watches: Sequence[Watch]) -> None:
        self.watches = tuple(watches)
        self._by_term: dict[str, list[int]] = {}  # a key term -> the watches (their place)
        self._by_first: dict[str, list[int]] = {}  # a kanji prefix -> the watches
        for n, watch in enumerate(self.watches):
            group = min(watch.groups, key=len)  # any required group will do: the smallest
            for p in group:
                index = self._by_first if p.prefix else self._by_term
                key = p.terms[0] if p.prefix else max(p.terms, key=len)  # longer: rarer
                index.setdefault(key, []).append(n)

    def __len__(self) -> int:
        return len(self.watches)

    def match(self, title: str, text: str) -> list[tuple[int, tuple[str, ...]]]:
        """The watches an article (its title, its text or else summary) matches, in their
        order: (id, the words of each of their phrases it holds, for highlighting)."""
        article = _Article(title, text)
        candidates = {n for t in article.terms for n in self._by_term.get(t, ())}
        candidates.update(n for c in article.firsts for n in self._by_first.get(c, ()))
        found = []
        for n in sorted(candidates):
            watch = self.watches[n]
            held = [[p for p in g if article.has(p)] for g in watch.groups]
            if all(held) and not any(article.has(p) for p in watch.excluded):
                found.append((watch.id, tuple(dict.fromkeys(p.words for g in held for p in g))))
        return found


def compile_watches(watches: Sequence[tuple[int, str]]) -> Matcher:
    """(id, query) pairs compiled once (ValueError naming the watch for a bad query)."""
    compiled = []
    for watch_id, query in watches:
        try:
            compiled.append(compile_watch(watch_id, query))
        except ValueError as e:
            raise ValueError(f"watch {watch_id}: {e}") from None
    return Matcher(compiled)


def highlight(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """The spans (start, end) of `words` (phrases as Matcher.match names them) in `text`, as
    the matcher finds them (terms, phrases in a row, a kanji a prefix), sorted and merged."""
    terms = _terms(text)
    sequence = [t for t, _, _ in terms]
    spans = []
    for phrase in _phrases(words):
        n = len(phrase.terms)
        for i in range(len(sequence) - n + 1):
            if phrase.prefix and sequence[i].startswith(phrase.terms[0]):
                spans.append((terms[i][1], terms[i][1] + len(phrase.terms[0])))
            elif not phrase.prefix and sequence[i:i + n] == list(phrase.terms):
                spans.append((terms[i][1], terms[i + n - 1][2]))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _phrases(words: Sequence[str]) -> list[Phrase]:
    parsed = [p for p in map(fts.phrase, words) if p is not None]
    known = _TERMS.of(t for tokens, _ in parsed for t in tokens)
    return [Phrase(tokens if prefix else tuple(t for w in tokens for t in known[w]), prefix,
                   shown(tokens)) for tokens, prefix in parsed]


def shown(tokens: Sequence[str]) -> str:
    """A phrase's tokens as words to show: the overlapping bigrams of a CJK run joined again
    (半導 導体 -> 半導体, which the parse reads as those very bigrams), others spaced."""
    out = ""
    for token in tokens:
        overlaps = (out and len(token) == 2 and CJK_RUN.fullmatch(token)
                    and CJK_RUN.fullmatch(out[-1]) and out[-1] == token[0])
        out += token[1] if overlaps else (" " if out else "") + token
    return out
