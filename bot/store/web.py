"""The web pages' reads (bot.web): each bounded by an index and a limit, so a page costs the
same on a small archive and on a large one. Read only; what a page shows is bot.web's."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.models import ArticleView
from bot.store.rows import READ_COLUMNS, SEED_SOURCE, article_view, is_news
from bot.store.schema import articles, raw_pages, sources

HEAD_CHARS = 800  # what a lead needs of a text (ArticleView.text_head)
# every column a reader sees but the texts, which are read as their head and their length
_NARROW = [c for c in READ_COLUMNS if c.name not in ("text", "summary")]


def _narrow_query() -> sa.Select:
    """Articles as readers see them (bot.store.rows.view_query) with the start of their text
    and its length instead of the whole text: a list of a hundred stories reads kilobytes."""
    body = sa.case((articles.c.text != "", articles.c.text), else_=articles.c.summary)
    return (sa.select(*_NARROW, sa.func.substr(body, 1, HEAD_CHARS).label("text"),
                      sa.literal("").label("summary"), sa.func.length(body).label("body_length"),
                      sources.c.name.label("source_name"), sources.c.url.label("source_url"))
            .join(sources, sources.c.id == articles.c.source_id, isouter=True))


def _view(row: Any) -> ArticleView:
    return replace(article_view(row), text_length=row.body_length or 0)


def recent_relevant(engine: sa.Engine, *, first_seen_after: datetime, published_after: datetime,
                    limit: int) -> list[ArticleView]:
    """Relevant news first seen since then (and not published long before), best first: the
    digest's articles, for any period, at most `limit` (the first_seen index bounds the read)."""
    query = (_narrow_query().where(
        articles.c.first_seen > first_seen_after, articles.c.state == "done",
        articles.c.relevant.is_(True), articles.c.source_id != SEED_SOURCE,
        sa.or_(articles.c.published.is_(None), articles.c.published >= published_after), is_news())
        .order_by(articles.c.score.desc(), articles.c.first_seen.desc()).limit(limit))
    with engine.connect() as db:
        return [_view(r) for r in db.execute(query)]


def story_articles(engine: sa.Engine, story_id: int, limit: int) -> tuple[list[ArticleView], int]:
    """The first `limit` reports of a story (first seen first) and how many it has; ([], 0)
    when no story has that id. Reads the story_id index and the primary key."""
    member = sa.or_(articles.c.story_id == story_id,
                    sa.and_(articles.c.id == story_id, articles.c.story_id.is_(None)))
    with engine.connect() as db:
        total = db.execute(sa.select(sa.func.count()).select_from(articles).where(member)
                           ).scalar_one()
        if not total:
            return [], 0
        rows = db.execute(_narrow_query().where(member)
                          .order_by(articles.c.first_seen, articles.c.id).limit(limit))
        return [_view(r) for r in rows], total


def story_of(engine: sa.Engine, article_id: int) -> int | None:
    """The story an article belongs to (its first article's id), or None: no such article."""
    with engine.connect() as db:
        return db.execute(sa.select(sa.func.coalesce(articles.c.story_id, articles.c.id))
                          .where(articles.c.id == article_id)).scalar_one_or_none()


def article_record(engine: sa.Engine, article_id: int) -> tuple[Any, Any] | None:
    """An article's row (as readers see it, whole text) and its kept page's metadata (None
    when none is kept: the page itself is not read), or None: no such article."""
    query = (sa.select(*READ_COLUMNS, sources.c.name.label("source_name"),
                       sources.c.url.label("source_url"))
             .join(sources, sources.c.id == articles.c.source_id, isouter=True)
             .where(articles.c.id == article_id))
    kept = (sa.select(raw_pages.c.fetched_url, raw_pages.c.http_status, raw_pages.c.content_type,
                      raw_pages.c.fetched_at, sa.func.length(raw_pages.c.html_gz).label("size"))
            .where(raw_pages.c.article_id == article_id))
    with engine.connect() as db:
        row = db.execute(query).one_or_none()
        if row is None:
            return None
        return row, db.execute(kept).one_or_none()


def raw_page(engine: sa.Engine, article_id: int) -> tuple[bytes, str | None] | None:
    """The page kept for an article, gzip-compressed as stored, and its content type; None
    when none is kept."""
    query = (sa.select(raw_pages.c.html_gz, raw_pages.c.content_type)
             .where(raw_pages.c.article_id == article_id))
    with engine.connect() as db:
        row = db.execute(query).one_or_none()
    return None if row is None else (bytes(row.html_gz), row.content_type)
