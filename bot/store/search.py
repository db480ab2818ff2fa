"""Archive search that reads what it returns: its cost follows the words, not the archive's size.

Three steps, each served by an index:
1. candidates: the matches of the words (FTS5, newest first), joined to their articles by primary
   key for the filters and the narrow columns that rank them (id, story, relevant, has text, a
   score); no article text is carried along;
2. the decision, in Python (`pick`): one result a story, its best report standing for it;
3. reading: the full rows of the (at most `limit`) results, and their stories' members through
   the story_id index, for the story's size and other outlets.

Words found in at most SCORED articles are ranked by BM25 over all their matches (title matches
weigh ten body ones), as they always were. FTS5's BM25 costs time in proportion to every article
holding each word (it counts them) and ~10 µs a scored row, so a word found in more articles
("Japan", "semiconductor", 半導体 in this archive) is searched in its CANDIDATES most recently
archived matches, ranked by title match (the words in the headline), then newest first. Filters
(topic, since, lang) apply within those matches. Either way US–Japan cooperation coverage (the
relevant) comes first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bot.models import ArticleView
from bot.store import fts
from bot.store.schema import articles, sources

# numbers from benchmarks/search_scale.py: BM25 over 300 matches costs a few ms; 1,000 newest
# matches of a common word hold its best stories of the last weeks to months
SCORED = 300
CANDIDATES = 1000
BM25 = "bm25(articles_fts, 10.0, 1.0)"  # a title match weighs ten body ones


@dataclass(frozen=True, slots=True)
class Hit:
    """A matching article as ranked: narrow, no text."""

    id: int
    story: int
    relevant: bool | None
    has_text: bool
    rank: float  # lower is better: BM25 as FTS5 gives it, or -1 (title) / 0 (body) for common words


def _relevance(hit: Hit) -> int:  # relevant, then not relevant, then not yet classified
    return 2 if hit.relevant else 0 if hit.relevant is None else 1


def pick(hits: Iterable[Hit], *, limit: int, offset: int = 0) -> list[Hit]:
    """One hit a story: its relevant report with text, best ranked, stands for it. Stories with
    US–Japan cooperation coverage come first (what the archive is for), then by BM25."""
    best: dict[int, Hit] = {}
    for hit in hits:
        held = best.get(hit.story)
        if held is None or _place(hit) < _place(held):
            best[hit.story] = hit
    ordered = sorted(best.values(), key=lambda h: (-_relevance(h), h.rank, -h.id))
    return ordered[offset:offset + limit]


def _place(hit: Hit) -> tuple:
    return (-_relevance(hit), not hit.has_text, hit.rank, -hit.id)


def filters(*, topic: str | None, since: datetime | None,
            lang: str | None) -> tuple[str, tuple[Any, ...]]:
    """SQL conditions on the article `a` (as bot.store.archive.any_topic and the since and lang
    options of every listing read them), with their parameters. Plain SQL: this query runs
    for a thousand rows, which SQLAlchemy's result rows would cost more than SQLite does."""
    where, params = [], []
    if since is not None:  # published since then: an old page found today is not recent
        where.append("coalesce(a.published, a.first_seen) >= ?")
        params.append(since.astimezone(UTC).replace(tzinfo=None)  # as UTCDateTime stores it
                      .isoformat(sep=" ", timespec="microseconds"))
    if topic:
        where.append("EXISTS (SELECT 1 FROM json_each(a.topics) WHERE value = ?)")
        params.append(topic)
    if lang:
        where.append("a.lang = ?")
        params.append(lang)
    return "".join(f" AND {w}" for w in where), tuple(params)


def candidates(db: sa.Connection, expression: str, where: tuple[str, tuple[Any, ...]] = ("", ()),
               *, scored: int = SCORED, newest: int = CANDIDATES) -> list[Hit]:
    """The matches of an FTS5 expression that pass the filters, as narrow hits: all of them
    ranked by BM25 when there are at most SCORED, else the CANDIDATES newest ranked by title
    match (FTS5 index reads, then one read of ix_articles_search an article, never its row)."""
    common = _newest(db, expression, scored + 1) is not None
    floor = (_newest(db, expression, newest) or 0) if common else 0
    conditions, params = where
    rows = db.exec_driver_sql(candidates_sql(conditions, common=common),
                              (expression, floor, *params)).all()
    if common:
        in_title = {i for (i,) in db.exec_driver_sql(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? AND rowid >= ?",
            (f"{{title}} : ({expression})", floor))}
        rows = [(*row[:4], -1.0 if row[0] in in_title else 0.0) for row in rows]
    return [Hit(i, story, None if relevant is None else bool(relevant), bool(has_text), rank)
            for i, story, relevant, has_text, rank in rows]


def candidates_sql(conditions: str, *, common: bool) -> str:
    """Matches (MATCH ?, rowid >= ?) as narrow rows, read from the FTS index and
    ix_articles_search only."""
    return ("SELECT a.id, coalesce(a.story_id, a.id), a.relevant, NOT EXISTS (SELECT 1 FROM "
            "articles t INDEXED BY ix_articles_textless WHERE t.id = a.id AND t.text = ''), "
            f"{'0.0' if common else BM25} FROM articles_fts f "
            "JOIN articles a INDEXED BY ix_articles_search ON a.id = f.rowid "
            f"WHERE articles_fts MATCH ? AND f.rowid >= ?{conditions}")


def _newest(db: sa.Connection, expression: str, count: int) -> int | None:
    """The id of the count-th newest match, None when fewer match (a walk of count index rows)."""
    return db.exec_driver_sql("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? "
                              "ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                              (expression, count - 1)).scalar()


def members_query(stories: set[int]) -> sa.Select:
    """Every report of these stories, with what names its outlet: index reads (the story_id index
    and the primary key; an article not grouped yet is a story of its own)."""
    story = sa.func.coalesce(articles.c.story_id, articles.c.id)
    return (sa.select(story.label("story"), articles.c.publisher, articles.c.site_name,
                      articles.c.url, articles.c.source_id, sources.c.name.label("source_name"),
                      sources.c.url.label("source_url"))
            .select_from(articles.join(sources, sources.c.id == articles.c.source_id,
                                       isouter=True))
            .where(sa.or_(articles.c.story_id.in_(stories),
                          sa.and_(articles.c.id.in_(stories), articles.c.story_id.is_(None))))
            .order_by(articles.c.id))


def members(db: sa.Connection, stories: set[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    for row in db.execute(members_query(stories)) if stories else ():
        found.setdefault(row.story, []).append(row)
    return found


def search(engine: sa.Engine, view_query: sa.Select, query: str, *, topic: str | None = None,
           since: datetime | None = None, lang: str | None = None, limit: int = 20,
           offset: int = 0) -> list[ArticleView]:
    """The archive's best matches for a user's words (see the module's docstring)."""
    from bot.store.archive import _view, outlet

    expression = fts.match_query(query)
    if expression is None:
        return []
    with engine.connect() as db:
        hits = pick(candidates(db, expression, filters(topic=topic, since=since, lang=lang)),
                    limit=limit, offset=offset)
        if not hits:
            return []
        rows = {r.id: r for r in db.execute(view_query.where(
            articles.c.id.in_([h.id for h in hits])))}
        outlets = {story: [outlet(r) for r in reports]
                   for story, reports in members(db, {h.story for h in hits}).items()}
    views = []
    for hit in hits:
        row = rows[hit.id]
        view = _view(row, snippet=fts.snippet(row.text or row.summary, query))
        names = outlets.get(view.story_id, [])
        views.append(replace(view, members=max(len(names), 1), also=tuple(
            n for n in dict.fromkeys(names) if n != view.source_name)))
    return views
