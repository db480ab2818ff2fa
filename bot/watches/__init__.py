"""Watches: saved search queries a channel is alerted on when a newly archived article matches.

The queries are compiled once into a matcher (bot.watches.matcher) that the new articles of a
cycle are tested against: no saved query is ever run over the archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.models import ArticleView
from bot.watches.matcher import Matcher, Watch, compile_watch, compile_watches, highlight

__all__ = ["Matcher", "SavedWatch", "Watch", "compile_watch", "compile_watches", "highlight",
           "query_problem"]


def query_problem(query: str) -> str | None:
    """What is wrong with a watch's query, in a line, or None: search's grammar must find words
    in it (exclusions alone would match nearly every article; a pasted paragraph is no query)."""
    try:
        compile_watch(0, query)
    except ValueError as e:
        return str(e)
    return None


@dataclass(frozen=True, slots=True)
class SavedWatch:
    """A channel's watch, from the config ([[slack.watches]]) or made in Slack."""

    key: str  # "config:<n>" or "slack:<id>": what its matches are recorded under
    label: str  # how an alert names it: the id made in Slack, or "config"
    query: str
    relevant_only: bool = True
    topics: tuple[str, ...] = ()
    lang: str = ""
    since: datetime | None = None  # made in Slack then: news first seen from then

    def admits(self, article: ArticleView) -> bool:
        """An article its query matched is alerted if it is also of the watch's kind."""
        return ((article.relevant or not self.relevant_only)
                and (not self.topics or bool(set(self.topics) & set(article.topics)))
                and (not self.lang or (article.lang or "").startswith(self.lang))
                and (self.since is None or article.first_seen >= self.since))
