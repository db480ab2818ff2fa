"""Read-only queries for reports (`techwatch export`, `techwatch stats`). Each takes an open
connection and returns a streamed result, so a large archive is read in chunks, never whole."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.store.rows import SEED_SOURCE, any_topic
from bot.store.schema import articles, raw_pages, sources

YIELD_PER = 500  # rows fetched at a time: memory stays flat however large the archive
RAW_YIELD_PER = 50  # with the raw pages: each row carries a compressed page


def export_rows(db: sa.Connection, *, since: datetime | None = None, topic: str | None = None,
                relevant_only: bool = False, raw: bool = False, seeds: bool = False,
                ) -> sa.CursorResult:
    """Archived news articles, oldest first (the seed documents too with `seeds`), with their
    source's name and story (the story's first article, or itself); with `raw`, also the stored
    page, or NULLs when none was kept (feed-only items, pages pruned by retention)."""
    columns = [articles, sources.c.name.label("source_name"), sources.c.url.label("source_url"),
               sa.func.coalesce(articles.c.story_id, articles.c.id).label("story")]
    if raw:
        columns += [raw_pages.c.fetched_url, raw_pages.c.http_status, raw_pages.c.content_type,
                    raw_pages.c.html_gz, raw_pages.c.fetched_at]
    joined = articles.join(sources, sources.c.id == articles.c.source_id, isouter=True)
    if raw:
        joined = joined.join(raw_pages, raw_pages.c.article_id == articles.c.id, isouter=True)
    query = sa.select(*columns).select_from(joined).order_by(articles.c.first_seen, articles.c.id)
    if not seeds:
        query = query.where(articles.c.source_id != SEED_SOURCE)
    if since is not None:
        query = query.where(articles.c.first_seen >= since)
    if topic:
        query = query.where(*any_topic((topic,)))
    if relevant_only:
        query = query.where(articles.c.relevant.is_(True))
    return db.execution_options(yield_per=RAW_YIELD_PER if raw else YIELD_PER).execute(query)


def stats_rows(db: sa.Connection, start: datetime, end: datetime) -> sa.CursorResult:
    """One light row per news article dated within [start, end]: its date (published, else first
    seen: a first run's backfill then spreads over the weeks it was written in), relevance,
    topics, story and source."""
    date = sa.func.coalesce(articles.c.published, articles.c.first_seen)
    query = (sa.select(articles.c.id, date.label("date"), articles.c.relevant,
                       articles.c.topics,
                       sa.func.coalesce(articles.c.story_id, articles.c.id).label("story"),
                       articles.c.source_id, sources.c.name.label("source_name"))
             .select_from(articles.join(sources, sources.c.id == articles.c.source_id,
                                        isouter=True))
             .where(articles.c.source_id != SEED_SOURCE, date >= start, date <= end)
             .order_by(date, articles.c.id))
    return db.execution_options(yield_per=YIELD_PER).execute(query)
