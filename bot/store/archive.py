"""The archive: one object over the store's modules, one per aggregate (sources, articles,
stories, deliveries, subscriptions and feedback, housekeeping, the cluster of workers), each
reading and writing its own tables. Storage stores and reads; it does not decide (story
assignment is bot.stories.assign's). What differs by dialect is bot.store.dialect's."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

import sqlalchemy as sa

from bot.models import ArticleView
from bot.store.articles import ArticleStore
from bot.store.cluster import ClusterStore
from bot.store.deliveries import DeliveryStore
from bot.store.housekeeping import HousekeepingStore
from bot.store.rows import view_query
from bot.store.search import search as search_archive
from bot.store.sources import SourceStore
from bot.store.stories import StoryStore, TermCounts
from bot.store.subscriptions import SubscriptionStore
from bot.store.updates import StoryUpdateStore
from bot.store.watches import WatchStore
from bot.stories.events import StoryTerms


class Archive(SourceStore, ArticleStore, StoryStore, DeliveryStore, StoryUpdateStore,
              SubscriptionStore, WatchStore, HousekeepingStore, ClusterStore):
    def __init__(self, engine: sa.Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only  # opened by a command that only reads: nothing is written
        self._terms = TermCounts()
        self._compared: OrderedDict[int, StoryTerms] = OrderedDict()  # least recent first

    @property
    def shared(self) -> bool:
        """A server database several workers may share (PostgreSQL), not one process's file."""
        return self.engine.dialect.name != "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    def search(self, query: str, *, topic: str | None = None, since: datetime | None = None,
               lang: str | None = None, limit: int = 20, offset: int = 0) -> list[ArticleView]:
        """Ranked full-text search, one result a story (bot.store.search says how and at what
        cost)."""
        return search_archive(self.engine, view_query, query, topic=topic, since=since,
                              lang=lang, limit=limit, offset=offset)
