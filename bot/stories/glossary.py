"""Japanese terms in English words (config/glossary.toml), so that a Japanese report and the
English reports of one event come to share terms: トランプ is "trump", 量子 "quantum", 覚書
"memorandum". Pure: the file is read by bot.config, compiled here once.

Matching (as the file's header says): the longest key first, left to right; a katakana key only
as a whole katakana word (ロス is not inside クロス); a surname that is also a common word only
before a title (林外相, not 森林); a key mapped to "" only keeps shorter keys from matching inside
it (北米 is not 米).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError

NAME_SECTIONS = frozenset({"countries", "places", "people", "surnames", "agencies",
                           "universities", "companies"})
SECTIONS = NAME_SECTIONS | {"titles", "policy", "technology"}
KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc-\u30ff]")  # not ・, which ends a word
ALL_KATAKANA = re.compile(r"[\u30a0-\u30ff]+")
HONORIFICS = ("氏", "さん")  # also end a surname: 林氏


@dataclass(frozen=True, slots=True)
class Rendering:
    english: tuple[str, ...]  # empty: a stop entry
    name: bool  # a name (Trump, JAXA): compared as a name too


class Glossary:
    def __init__(self, entries: Mapping[str, Rendering], surnames: Mapping[str, Rendering],
                 titles: tuple[str, ...]) -> None:
        self.entries = dict(entries)
        self.surnames = dict(surnames)
        self.titles = titles
        self._lengths: dict[str, list[int]] = {}  # first character -> key lengths, longest first
        for key in {*self.entries, *self.surnames}:
            self._lengths.setdefault(key[0], []).append(len(key))
        for lengths in self._lengths.values():
            lengths[:] = sorted(set(lengths), reverse=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str) -> Glossary:
        """Validate and compile a parsed glossary.toml."""
        entries: dict[str, Rendering] = {}
        surnames: dict[str, Rendering] = {}
        for section, table in data.items():
            if section not in SECTIONS:
                raise ConfigError(file, section, f"unknown section (sections: "
                                                 f"{', '.join(sorted(SECTIONS))})")
            if not isinstance(table, dict):
                raise ConfigError(file, section, "expected a table of \"Japanese\" = \"English\"")
            for key, value in table.items():
                if not isinstance(value, str):
                    raise ConfigError(file, f"{section}.{key}", f"expected a string, got "
                                                                f"{value!r}")
                english = tuple(v.strip() for v in value.split("|") if v.strip())
                target = surnames if section == "surnames" else entries
                target[unicodedata.normalize("NFKC", key)] = Rendering(
                    english, section in NAME_SECTIONS)
        titles = tuple(sorted({*data.get("titles", {}), *HONORIFICS}, key=len, reverse=True))
        return cls(entries, surnames, titles)

    def scan(self, text: str) -> list[tuple[int, Rendering]]:
        """Where the glossary's terms are in an NFKC-normalised text, and their renderings."""
        return [(start, rendering) for start, _, rendering in self.matches(text)
                if rendering.english]

    def matches(self, text: str) -> list[tuple[int, int, Rendering]]:
        """Where each of its terms is (start, end), stop entries too: what it covers."""
        found, i, end = [], 0, len(text)
        while i < end:
            for length in self._lengths.get(text[i], ()):
                key = text[i:i + length]
                rendering = self.entries.get(key)
                if rendering is not None and self._whole(text, i, i + length, key):
                    break
                rendering = self.surnames.get(key)
                if rendering is not None and text.startswith(self.titles, i + length):
                    break
            else:
                i += 1
                continue
            found.append((i, i + length, rendering))
            i += length
        return found

    @staticmethod
    def _whole(text: str, start: int, end: int, key: str) -> bool:
        """A katakana key is a whole katakana word here (not ロス inside クロス)."""
        if not ALL_KATAKANA.fullmatch(key):
            return True
        return not (start and KATAKANA.match(text[start - 1])) and \
            not (end < len(text) and KATAKANA.match(text[end]))
