"""Archive search that reads what it returns: its cost follows the words, not the archive's size.

Three steps, each served by an index:
1. candidates: the matches of the words (FTS5, newest first), at most CANDIDATES of them, joined
   to their articles by primary key for the filters and the narrow columns that rank them (id,
   story, relevant, has text, BM25); no article text is carried along;
2. the decision, in Python (`pick`): one result a story, its best report standing for it;
3. reading: the full rows of the (at most `limit`) results, and their stories' members through
   the story_id index, for the story's size and other outlets.

A word in more than CANDIDATES articles ("Japan", "semiconductor" in this archive) is searched in
its CANDIDATES most recently archived matches only: BM25 then scores that many rows, not every
article that mentions Japan. Filters (topic, since, lang) apply within those matches. Words that
match fewer articles are searched in all of them, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.models import ArticleView
from bot.store import fts
from bot.store.schema import articles, sources

# the newest matches a search ranks: a common word's 2,000 newest reports hold its best stories
# of the last weeks to months, and BM25 over them takes a few milliseconds (benchmarks/search_scale)
CANDIDATES = 2000
FTS = sa.table("articles_fts", sa.column("rowid"))
BM25 = sa.literal_column("bm25(articles_fts, 10.0, 1.0)")  # a title match weighs ten body ones
MATCH = sa.text("articles_fts MATCH :q")


@dataclass(frozen=True, slots=True)
class Hit:
    """A matching article as ranked: narrow, no text."""

    id: int
    story: int
    relevant: bool | None
    has_text: bool
    rank: float  # BM25 as FTS5 gives it: lower is better


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
            lang: str | None) -> list[sa.ColumnElement[bool]]:
    from bot.store.archive import any_topic  # the one definition of a topic condition

    where = []
    if since is not None:  # published since then: an old page found today is not recent
        where.append(sa.func.coalesce(articles.c.published, articles.c.first_seen) >= since)
    if topic:
        where.extend(any_topic((topic,)))
    if lang:
        where.append(articles.c.lang == lang)
    return where


def candidates(db: sa.Connection, expression: str,
               where: list[sa.ColumnElement[bool]]) -> list[Hit]:
    """The matches of an FTS5 expression among its CANDIDATES newest, filtered, as narrow hits."""
    floor = db.execute(sa.select(FTS.c.rowid).select_from(FTS).where(MATCH)
                       .order_by(FTS.c.rowid.desc()).limit(1).offset(CANDIDATES - 1),
                       {"q": expression}).scalar()
    query = (sa.select(articles.c.id, sa.func.coalesce(articles.c.story_id, articles.c.id),
                       articles.c.relevant, articles.c.text != "", BM25)
             .select_from(FTS.join(articles, articles.c.id == FTS.c.rowid))
             .where(MATCH, *([FTS.c.rowid >= floor] if floor is not None else []), *where))
    return [Hit(i, story, relevant, bool(has_text), rank)
            for i, story, relevant, has_text, rank in db.execute(query, {"q": expression})]


def members(db: sa.Connection, stories: set[int]) -> dict[int, list[Any]]:
    """Every report of these stories, with what names its outlet (index reads: the story_id index
    and the primary key; an article not grouped yet is a story of its own)."""
    if not stories:
        return {}
    story = sa.func.coalesce(articles.c.story_id, articles.c.id)
    query = (sa.select(story.label("story"), articles.c.publisher, articles.c.site_name,
                       articles.c.url, articles.c.source_id, sources.c.name.label("source_name"),
                       sources.c.url.label("source_url"))
             .select_from(articles.join(sources, sources.c.id == articles.c.source_id,
                                        isouter=True))
             .where(sa.or_(articles.c.story_id.in_(stories),
                           sa.and_(articles.c.id.in_(stories), articles.c.story_id.is_(None))))
             .order_by(articles.c.id))
    found: dict[int, list[Any]] = {}
    for row in db.execute(query):
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
