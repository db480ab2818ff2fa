"""One story, many outlets. Syndicated copies are recognised by content: MinHash signatures over
word shingles, banded for lookup (LSH). Reports of the same event in other words are recognised
by their rarest headline and lead terms, names and figures, looked up in an index of the recent
window. Grouping a new article reads a few index rows, not the archive."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.stories.events import StoryTerms, story_terms
    from bot.stories.minhash import BANDS, band_keys, estimate_similarity, signature

__all__ = ["BANDS", "StoryTerms", "band_keys", "estimate_similarity", "signature", "story_terms"]
_HOME = {"StoryTerms": "events", "story_terms": "events", "BANDS": "minhash",
         "band_keys": "minhash", "estimate_similarity": "minhash", "signature": "minhash"}


def __getattr__(name: str) -> Any:
    """The names above, loaded at first use: a command that reads only the glossary (`--help`,
    `classify`) does not load the grouping's modules."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
