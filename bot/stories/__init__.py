"""One story, many outlets. Syndicated copies are recognised by content: MinHash signatures over
word shingles, banded for lookup (LSH). Reports of the same event in other words are recognised
by their rarest headline and lead terms, names and figures, looked up in an index of the recent
window. Grouping a new article reads a few index rows, not the archive."""

from bot.stories.events import StoryTerms, story_terms
from bot.stories.minhash import BANDS, band_keys, estimate_similarity, signature

__all__ = ["BANDS", "StoryTerms", "band_keys", "estimate_similarity", "signature", "story_terms"]
