"""Watches made in Slack (`/techwatch watch`), and which articles each watch matched: the store
keeps them; which article matches which query is bot.watches'."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from bot.store import dialect
from bot.store.schema import watch_matches, watches


class WatchStore:
    engine: sa.Engine

    def add_watch(self, channel: str, query: str, *, relevant_only: bool,
                  topics: tuple[str, ...], lang: str, user: str, now: datetime) -> int:
        """A channel's new watch; its id."""
        with self.engine.begin() as db:
            return db.execute(watches.insert().values(
                channel=channel, query=query, relevant_only=relevant_only, topics=list(topics),
                lang=lang or None, created_by=user, created_at=now)).inserted_primary_key[0]

    def remove_watch(self, channel: str, watch_id: int) -> bool:
        """Stop a channel's watch; False when the channel has no such watch."""
        with self.engine.begin() as db:
            return db.execute(watches.delete().where(
                watches.c.channel == channel, watches.c.id == watch_id)).rowcount > 0

    def watches(self, channel: str | None = None) -> list[sa.Row]:
        """The watches made in Slack (a channel's, or all), oldest first."""
        query = sa.select(watches).order_by(watches.c.id)
        if channel is not None:
            query = query.where(watches.c.channel == channel)
        with self.engine.connect() as db:
            return list(db.execute(query))

    def record_watch_matches(self, matches: Iterable[tuple[str, int]], now: datetime) -> None:
        """(watch key, article id) pairs a cycle matched; a pair recorded again is kept once."""
        rows = [{"watch_key": key, "article_id": article, "matched_at": now}
                for key, article in matches]
        if rows:
            with self.engine.begin() as db:
                db.execute(dialect.insert(db, watch_matches).values(rows).on_conflict_do_nothing(
                    index_elements=[watch_matches.c.watch_key, watch_matches.c.article_id]))

    def watch_match_counts(self, keys: Iterable[str], since: datetime) -> dict[str, int]:
        """How many articles each watch matched since `since`."""
        keys = list(keys)
        if not keys:
            return {}
        query = (sa.select(watch_matches.c.watch_key, sa.func.count())
                 .where(watch_matches.c.watch_key.in_(keys), watch_matches.c.matched_at >= since)
                 .group_by(watch_matches.c.watch_key))
        with self.engine.connect() as db:
            return {key: n for key, n in db.execute(query)}
