"""Housekeeping and what status, stats and metrics count: the fetch log, retention, index
upkeep, counts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import sqlalchemy as sa

from bot.store import dialect
from bot.store.dialect import json_items
from bot.store.rows import SEED_SOURCE, FetchLogged
from bot.store.schema import articles, event_terms, fetch_log, raw_pages


class HousekeepingStore:
    engine: sa.Engine

    def log_fetch(self, at: datetime, source_id: str, kind: str, url: str, outcome: str,
                  detail: str | None = None) -> None:
        with self.engine.begin() as db:
            db.execute(fetch_log.insert().values(
                **FetchLogged(at, source_id, kind, url, outcome, detail)._asdict()))

    def fetch_outcomes(self, since: datetime) -> Counter[tuple[str, str]]:
        query = (sa.select(fetch_log.c.kind, fetch_log.c.outcome, sa.func.count())
                 .where(fetch_log.c.at >= since).group_by(fetch_log.c.kind, fetch_log.c.outcome))
        with self.engine.connect() as db:
            return Counter({(k, o): n for k, o, n in db.execute(query)})

    def topic_story_counts(self, since: datetime) -> Counter[str]:
        """Relevant stories (not articles) per topic first seen since `since`."""
        values = json_items(articles.c.topics).table_valued("value")
        story = sa.func.coalesce(articles.c.story_id, articles.c.id)
        query = (sa.select(values.c.value, sa.func.count(sa.distinct(story)))
                 .select_from(articles).join(values, sa.true())
                 .where(articles.c.relevant.is_(True), articles.c.first_seen >= since,
                        articles.c.source_id != SEED_SOURCE).group_by(values.c.value))
        with self.engine.connect() as db:
            return Counter(dict(db.execute(query).all()))

    def prune(self, *, raw_before: datetime | None, fetch_log_before: datetime | None,
              event_terms_before: datetime | None = None) -> dict[str, int]:
        """Retention: raw pages and fetch-log rows older than the cut-offs (None: keep), and the
        event index's rows older than the story window (its articles keep their stories)."""
        removed = {"raw_pages": 0, "fetch_log": 0, "event_terms": 0}
        with self.engine.begin() as db:
            if event_terms_before is not None:  # out of the window: never compared again
                removed["event_terms"] = db.execute(event_terms.delete().where(
                    event_terms.c.first_seen < event_terms_before)).rowcount
                db.execute(articles.update().where(articles.c.first_seen < event_terms_before,
                                                   articles.c.story_terms.is_not(None))
                           .values(story_terms=sa.null()))
            if raw_before is not None:
                removed["raw_pages"] = db.execute(raw_pages.delete().where(
                    raw_pages.c.fetched_at < raw_before)).rowcount
            if fetch_log_before is not None:
                removed["fetch_log"] = db.execute(fetch_log.delete().where(
                    fetch_log.c.at < fetch_log_before)).rowcount
        return removed

    def optimize(self) -> None:
        """Merge the full-text index's segments and refresh the query planner's statistics."""
        with self.engine.begin() as db:
            dialect.optimize(db)

    def counts(self, since: datetime | None = None) -> dict[str, int]:
        """Articles (first seen since `since`, if given): all, relevant, pending; seeds."""
        with self.engine.connect() as db:
            def n(*where):
                return db.execute(sa.select(sa.func.count()).select_from(articles)
                                  .where(*where)).scalar_one()
            news = sa.and_(articles.c.source_id != SEED_SOURCE,
                           articles.c.first_seen >= since if since else sa.true())
            return {"articles": n(news), "relevant": n(news, articles.c.relevant.is_(True)),
                    "pending": n(news, articles.c.state == "pending"),
                    "seeds": n(articles.c.source_id == SEED_SOURCE)}

    def extraction_counts(self) -> Counter[str]:
        query = (sa.select(articles.c.extraction_status, sa.func.count())
                 .where(articles.c.state == "done", articles.c.source_id != SEED_SOURCE)
                 .group_by(articles.c.extraction_status))
        with self.engine.connect() as db:
            return Counter({s or "none": c for s, c in db.execute(query)})
