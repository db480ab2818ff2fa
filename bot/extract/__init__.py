"""Page bytes -> ExtractedText: text, metadata, language, dates and an explicit status."""

from bot.extract.page import EXTRACTOR_VERSION, extract_page

__all__ = ["EXTRACTOR_VERSION", "extract_page"]
