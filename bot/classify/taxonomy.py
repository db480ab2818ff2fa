"""The taxonomy of config/topics.toml, compiled into term matchers.

Matching rules (also in the file's header): ASCII terms match whole words, case-insensitively,
except all-capital terms of up to 6 characters ("US", "AI", "NTT"), which match case-sensitively;
a trailing "*" matches any word ending; other (CJK) terms match as substrings, since Japanese is
written without spaces.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError

RELEVANCE_GROUPS = ("us", "us_entities", "japan", "japan_entities", "bilateral", "cooperation",
                    "off_topic")
ACRONYM = re.compile(r"^[A-Z0-9][A-Z0-9.&-]{0,5}$")


class TermMatcher:
    """Counts which of a list of terms occur in a text.

    Terms are compiled into trie-shaped regular expressions (one per kind of matching), so a
    scan costs about the same for 10 terms or 200.
    """

    def __init__(self, terms: list[str]) -> None:
        self.terms = tuple(terms)
        kinds: dict[str, dict[str, str]] = {k: {} for k in PATTERNS}
        for term in terms:
            body = unicodedata.normalize("NFKC", term.rstrip("*"))
            prefix = "prefix" if term.endswith("*") else "word"
            if not body.isascii():
                kinds["cjk"][body] = term
            elif ACRONYM.match(body):
                kinds[f"exact_{prefix}"][body] = term
            else:
                kinds[f"folded_{prefix}"][body.lower()] = term
        self._scans = [(re.compile(PATTERNS[kind].format(trie=_trie(list(keys)))),
                        kind.startswith("folded"), keys)
                       for kind, keys in kinds.items() if keys]

    def count(self, text: str) -> Counter[str]:
        """Matched terms (as written in the taxonomy) with their number of occurrences."""
        return self.count_prepared(*prepare(text))

    def count_prepared(self, text: str, folded: str) -> Counter[str]:
        found: Counter[str] = Counter()
        for regex, fold, keys in self._scans:
            for match in regex.finditer(folded if fold else text):
                found[keys[match.group(1)]] += 1
        return found


def prepare(text: str) -> tuple[str, str]:
    """NFKC (full-width ＡＩ, ６Ｇ read as AI, 6G) and its lower-case twin, computed once a text."""
    text = unicodedata.normalize("NFKC", text)
    return text, text.lower()


# ASCII terms are whole words: letters of a CJK neighbour ("IBMの") are no part of them.
PATTERNS = {
    "exact_word": r"(?<![A-Za-z0-9])({trie})(?![A-Za-z0-9])",
    "exact_prefix": r"(?<![A-Za-z0-9])({trie})[A-Za-z0-9-]*",
    "folded_word": r"(?<![a-z0-9])({trie})(?![a-z0-9])",
    "folded_prefix": r"(?<![a-z0-9])({trie})[a-z0-9-]*",
    "cjk": r"({trie})",
}


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
    matcher: TermMatcher


class Taxonomy:
    def __init__(self, topics: tuple[Topic, ...], relevance: Mapping[str, TermMatcher]) -> None:
        self.topics = topics
        self.relevance = relevance
        self.ids = tuple(t.id for t in topics)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str) -> Taxonomy:
        """Validate and compile a parsed topics.toml."""
        table = data.get("relevance")
        if not isinstance(table, dict):
            raise ConfigError(file, "relevance", "missing table [relevance]")
        relevance = {g: TermMatcher(_terms(table, g, file, "relevance")) for g in RELEVANCE_GROUPS}
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
            unknown = set(entry) - {"id", "name", "name_ja", "terms"}
            if unknown:
                raise ConfigError(file, f"{where}.{sorted(unknown)[0]}", "unknown key")
            seen.add(entry["id"])
            topics.append(Topic(entry["id"], str(entry.get("name", entry["id"])),
                                str(entry.get("name_ja", entry.get("name", entry["id"]))),
                                TermMatcher(_terms(entry, "terms", file, where))))
        return cls(tuple(topics), relevance)

    def name(self, topic_id: str) -> str:
        return next((t.name for t in self.topics if t.id == topic_id), topic_id)


def _terms(table: Mapping[str, Any], key: str, file: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip("* ") for v in value):
        raise ConfigError(file, f"{where}.{key}", "expected a list of non-empty strings")
    return [v.strip() for v in value]
