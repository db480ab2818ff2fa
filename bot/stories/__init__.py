"""Syndicated copies of one story, recognised by content: MinHash signatures over word shingles,
banded for lookup (LSH), so grouping a new article reads a few index rows, not the archive."""

from bot.stories.minhash import BANDS, band_keys, estimate_similarity, signature

__all__ = ["BANDS", "band_keys", "estimate_similarity", "signature"]
