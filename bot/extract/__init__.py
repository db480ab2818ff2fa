"""Page bytes -> ExtractedText: text, metadata, language, dates and an explicit status.

`bot.extract.page` loads trafilatura and lxml: it is imported where pages are extracted (the
workers, whose forkserver imports it once), not by every process that imports this package."""

from typing import Any

__all__ = ["EXTRACTOR_VERSION", "extract_page"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from bot.extract import page

        return getattr(page, name)
    raise AttributeError(f"module 'bot.extract' has no attribute {name!r}")
