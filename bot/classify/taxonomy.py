"""The taxonomy of config/topics.toml, compiled into term matchers.

Matching rules (also in the file's header): ASCII terms match whole words, case-insensitively,
except all-capital terms of up to 6 characters ("US", "AI", "NTT"), which match case-sensitively;
a trailing "*" matches any word ending; other (CJK) terms match as substrings, since Japanese is
written without spaces.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError

RELEVANCE_GROUPS = ("us", "us_entities", "japan", "japan_entities", "bilateral", "cooperation",
                    "off_topic", "third_countries")
# the cues of the labeling guide's categories (bot.classify.categories); optional in a user's file
CATEGORY_GROUPS = ("us_places", "japan_places", "organisations", "academia", "partnership",
                   "investment", "sites", "alignment", "trilateral", "customer")
ACRONYM = re.compile(r"^[A-Z0-9][A-Z0-9.&-]{0,5}$")
# A sentence ends at a full stop, question or exclamation mark before a space (not an initial's
# or an abbreviation's: "U.S. officials", "Kyocera Corp. and ..." go on), at a Japanese full stop,
# or at a line break.
ABBREVIATIONS = ("Co", "Corp", "Inc", "Ltd", "Mr", "Ms", "Mrs", "Dr", "No", "St", "Jr", "vs",
                 "Gov", "Sen", "Rep")
SENTENCE_END = re.compile(r"(?:[!?]|\.(?<!\b[A-Z]\.)" + "".join(rf"(?<!\b{a}\.)" for a in ABBREVIATIONS)
                          + r")\s|[。！？\n]")


class Lexicon:
    """Named term lists compiled together: one scan per kind of text finds every term of every
    list. Lists may overlap ("U.S.-Japan" in one list also counts "U.S." and "Japan" in others);
    within one list the longest term wins ("quantum computing" counts "quantum comput*", not
    also "quantum").

    Each kind (ASCII exact-case, ASCII folded, CJK) is one trie-shaped regular expression inside
    a lookahead, so the scan finds at each position the longest key starting there; the shorter
    keys it contains are credited from tables built at compile time.
    """

    def __init__(self, lists: Mapping[str, Sequence[str]]) -> None:
        self.lists = {name: tuple(terms) for name, terms in lists.items()}
        index: dict[str, dict[str, list[Owner]]] = {k: {} for k in PATTERNS}
        for name, terms in self.lists.items():
            for term in terms:
                kind, key, is_prefix = _kind_and_key(term)
                owners = index[kind].setdefault(key, [])
                if not any(o.list == name and o.is_prefix == is_prefix for o in owners):
                    owners.append(Owner(name, term, is_prefix or kind == "cjk"))
        self._index = {kind: owners for kind, owners in index.items() if owners}

    @functools.cached_property
    def _scans(self) -> list[_Scan]:
        """Compiled on first use, not when the taxonomy is read: a command that only checks a
        topic id (`search --topic`, `status`) never scans a text. The terms were validated
        when read; their keys are escaped, so compiling cannot fail."""
        return [_compile_scan(kind, owners) for kind, owners in self._index.items()]

    def count(self, text: str) -> dict[str, Counter[str]]:
        return self.count_prepared(*prepare(text))

    def count_prepared(self, text: str, folded: str) -> dict[str, Counter[str]]:
        """Per list: matched terms (as written in the taxonomy) and how often they occur."""
        return self.locate_prepared(text, folded)[0]

    def locate_prepared(self, text: str, folded: str,
                        ) -> tuple[dict[str, Counter[str]], dict[str, list[int]]]:
        """Per list, matched terms (as written in the taxonomy) and how often they occur; and
        where each match starts: which sentences a list's terms share decides whether they are
        a passing mention and who does what with whom."""
        found: dict[str, Counter[str]] = {name: Counter() for name in self.lists}
        where: dict[str, list[int]] = {}
        for scan in self._scans:
            if scan.probe is not None and not scan.probe.search(text):
                continue
            subject = folded if scan.kind == "folded" else text
            for match in scan.regex.finditer(subject):
                key, after = match.groups()
                ends_word = not (after.isascii() and after.isalnum())
                at = match.start()
                for name, term in scan.credits[key, ends_word]:
                    found[name][term] += 1
                    where.setdefault(name, []).append(at)
        return found, where


def sentence_ends(text: str) -> list[int]:
    """Where each sentence of `text` ends (see SENTENCE_END), for bisecting match positions."""
    return [m.start() for m in SENTENCE_END.finditer(text)]


@dataclass(frozen=True, slots=True)
class Owner:
    list: str
    term: str
    is_prefix: bool  # matches a word's beginning ("semiconductor*"); CJK terms always do


@dataclass(frozen=True, slots=True)
class _Scan:
    kind: str
    regex: re.Pattern[str]
    credits: dict[tuple[str, bool], tuple[tuple[str, str], ...]]  # (key, ends a word) -> credits
    probe: re.Pattern[str] | None  # a character every key has; absent from the text: skip


def _compile_scan(kind: str, owners: Mapping[str, list[Owner]]) -> _Scan:
    first = "".join(sorted({re.escape(key[0]) for key in owners}))
    regex = re.compile(PATTERNS[kind].format(first=first, trie=_trie(list(owners))), re.DOTALL)
    prefixes = _prefixes_within(list(owners))
    credits = {(key, ends_word): _credits(key, ends_word, prefixes[key], owners)
               for key in owners for ends_word in (True, False)}
    # Japanese keys can only match where one of their non-ASCII characters occurs: one search
    # for those characters skips the whole scan on English text.
    marks = {next((c for c in key if not c.isascii()), "") for key in owners} - {""}
    probe = re.compile("[" + "".join(map(re.escape, sorted(marks))) + "]") if kind == "cjk" \
        else None
    return _Scan(kind, regex, credits, probe)


def _prefixes_within(keys: list[str]) -> dict[str, list[str]]:
    """For each key, the keys it starts with (itself included), shortest first."""
    by_first: dict[str, list[str]] = {}
    for key in sorted(keys, key=len):
        by_first.setdefault(key[0], []).append(key)
    return {key: [k for k in by_first[key[0]] if key.startswith(k)] for key in keys}


def _credits(key: str, ends_word: bool, prefixes: list[str],
             owners: Mapping[str, list[Owner]]) -> tuple[tuple[str, str], ...]:
    """Where `key` matched (and a word ends after it or not): per list, its longest valid term."""
    best: dict[str, str] = {}
    for k in prefixes:
        word_ends_here = ends_word if k == key else not key[len(k)].isalnum()
        for owner in owners[k]:
            if owner.is_prefix or word_ends_here:
                best[owner.list] = owner.term
    return tuple(best.items())


def prepare(text: str) -> tuple[str, str]:
    """NFKC (full-width ＡＩ, ６Ｇ read as AI, 6G), typographic dashes and apostrophes made
    plain ("U.S.–Japan" reads as "U.S.-Japan"), and its lower-case twin; once a text."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        for fancy, plain in PLAIN_PUNCTUATION:
            if fancy in text:
                text = text.replace(fancy, plain)
    return text, text.lower()


PLAIN_PUNCTUATION = [(c, "-") for c in "‐‑‒–—―−"] + [(c, "'") for c in "‘’′"]


# ASCII terms start a word: letters of a CJK neighbour ("IBMの") are no part of it; whether a
# word also ends after a key is judged from the character captured after it. Each pattern is
# zero-width (a lookahead), so matches may overlap; the class of first characters up front lets
# the regex engine skip most positions cheaply.
PATTERNS = {
    "exact": r"(?=[{first}])(?<![A-Za-z0-9])(?=({trie})(.?))",
    "folded": r"(?=[{first}])(?<![a-z0-9])(?=({trie})(.?))",
    "cjk": r"(?=[{first}])(?=({trie})(.?))",
}


def _kind_and_key(term: str) -> tuple[str, str, bool]:
    body = prepare(term.rstrip("*"))[0]
    is_prefix = term.endswith("*")
    if not body.isascii():
        return "cjk", body, is_prefix
    if ACRONYM.match(body):
        return "exact", body, is_prefix
    return "folded", body.lower(), is_prefix


def _trie(words: list[str]) -> str:
    """A regex matching any of `words`, longest first, shaped as a trie of their characters."""
    root: dict = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items())
                    if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return pattern(root)


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    name_ja: str
    terms: tuple[str, ...]
    field: bool = False  # a technology field: named once in a list of fields is enough


class Taxonomy:
    """The topics and the relevance term lists, compiled into one Lexicon whose lists are named
    by relevance group ("us", "bilateral", ...) and by topic id."""

    def __init__(self, topics: tuple[Topic, ...], relevance: Mapping[str, Sequence[str]]) -> None:
        self.topics = topics
        self.ids = tuple(t.id for t in topics)
        self.fields = frozenset(t.id for t in topics if t.field)
        self.lexicon = Lexicon({**relevance, **{t.id: t.terms for t in topics}})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str) -> Taxonomy:
        """Validate and compile a parsed topics.toml."""
        table = data.get("relevance")
        if not isinstance(table, dict):
            raise ConfigError(file, "relevance", "missing table [relevance]")
        relevance = {g: _terms(table, g, file, "relevance")
                     for g in RELEVANCE_GROUPS + CATEGORY_GROUPS}
        raw = data.get("topics")
        if not isinstance(raw, list) or not raw:
            raise ConfigError(file, "topics", "expected one or more [[topics]] tables")
        topics, seen = [], set()
        for i, entry in enumerate(raw):
            where = f"topics[{i}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise ConfigError(file, f"{where}.id", "missing (each topic needs an id)")
            if entry["id"] in seen:
                raise ConfigError(file, f"{where}.id", f"duplicate topic id {entry['id']!r}")
            unknown = set(entry) - {"id", "name", "name_ja", "terms", "field"}
            if unknown:
                raise ConfigError(file, f"{where}.{sorted(unknown)[0]}", "unknown key")
            if entry["id"] in RELEVANCE_GROUPS + CATEGORY_GROUPS:
                raise ConfigError(file, f"{where}.id", f"{entry['id']!r} names a relevance group")
            seen.add(entry["id"])
            if not isinstance(entry.get("field", False), bool):
                raise ConfigError(file, f"{where}.field", "expected true or false")
            topics.append(Topic(entry["id"], str(entry.get("name", entry["id"])),
                                str(entry.get("name_ja", entry.get("name", entry["id"]))),
                                tuple(_terms(entry, "terms", file, where)),
                                entry.get("field", False)))
        return cls(tuple(topics), relevance)

    def name(self, topic_id: str) -> str:
        return next((t.name for t in self.topics if t.id == topic_id), topic_id)


def _terms(table: Mapping[str, Any], key: str, file: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip("* ") for v in value):
        raise ConfigError(file, f"{where}.{key}", "expected a list of non-empty strings")
    return [v.strip() for v in value]
