"""Japanese (and Chinese) text has no spaces between words: runs of kana and kanji are read as
overlapping two-character bigrams ("半導体" → 半導 導体), in the search index and in story terms."""

from __future__ import annotations

import re

CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f々〆ヵヶ]+")
KANA = re.compile("[\u3040-\u30ff]")


def written_in_japanese(text: str) -> bool:
    """Kana (which Chinese lacks) are frequent in the first 3,000 characters: 20 of them, or
    one in ten characters of a shorter text (a headline)."""
    return len(KANA.findall(text, 0, 3000)) >= min(20, len(text) // 10 + 1)


def language_of(text: str, default: str) -> str:
    """An item's language from its own words: Japanese with kana, English with no CJK character
    at all; otherwise (kanji alone, as a Japanese headline may be) its source's."""
    if KANA.search(text):
        return "ja"
    return default if CJK_RUN.search(text) else "en"


def bigrams(run: str) -> list[str]:
    return [run] if len(run) < 2 else [run[i:i + 2] for i in range(len(run) - 1)]
