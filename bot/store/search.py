"""Archive search that reads what it returns: its cost follows the words, not the archive's size.

Two steps, each served by indexes:
1. ranking, in one SQLite statement (`ranked_sql`): the matches of the words (FTS5), joined to
   their articles by primary key for the filters and the narrow columns that rank them (id,
   story, relevant, has text, a score; no article text is carried along), one result a story
   (its best report standing for it), ordered; only the page asked for reaches Python;
2. reading: the full rows of the (at most `limit`) results, and their stories' members through
   the story_id index, for the story's size and other outlets.

Words found in at most SCORED articles are ranked by BM25 over all their matches (title matches
weigh ten body ones), as they always were. FTS5's BM25 costs time in proportion to every article
holding each word it weighs (it counts them) and ~10 µs a scored row, so:
- a word found in more articles ("Japan", "semiconductor", 半導体 in this archive) is searched in
  its CANDIDATES most recently archived matches, ranked by title match (the words in the
  headline), then newest first;
- in a query of few matches, the words found in more than SCORED articles ("Japan" in "Rapidus
  Japan") and excluded words select but do not weigh: BM25 of the rarer words ranks (a common
  word's weight is small anyway); when every word is that common, title match, then newest.
Filters (topic, since, lang) apply within those matches. Either way US–Japan cooperation coverage
(the relevant) comes first.

On PostgreSQL (engine.dialect.name), bot.store.search_pg ranks the same way on the tsvector index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from bot.models import ArticleView
from bot.store import fts, search_pg
from bot.store.dialect import is_postgresql
from bot.store.schema import articles

# numbers from benchmarks/search_scale.py: BM25 over 300 matches costs a few ms, and so does
# ranking a common word's 300 newest matches (about a hundred stories, which hold its best of the
# last days to weeks); 1,000 cost three times as much
SCORED = 300
CANDIDATES = 300
BM25 = "bm25(articles_fts, 10.0, 1.0)"  # a title match weighs ten body ones
# an article without text (a feed's summary only): a read of the small partial index an article,
# or, above a common word's floor, that index's few entries there read once
TEXTLESS = ("EXISTS (SELECT 1 FROM articles t INDEXED BY ix_articles_textless "
            "WHERE t.id = a.id AND t.text = '')")
TEXTLESS_ABOVE = ("a.id IN (SELECT t.id FROM articles t INDEXED BY ix_articles_textless "
                  "WHERE t.text = '' AND t.id >= ?2)")


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


def ranked(db: sa.Connection, expression: str, where: tuple[str, tuple[Any, ...]] = ("", ()),
           *, limit: int, offset: int = 0, scored: int = SCORED, newest: int = CANDIDATES,
           groups: Sequence[str] = ()) -> list[tuple[int, int]]:
    """(id, story) of the best matches of an FTS5 expression that pass the filters, one a story,
    ranked as the module's docstring says (`groups`: the expression's required parts, as
    fts.match_groups gives them; none: BM25 of the whole expression). One statement: FTS5 index
    reads, one read of ix_articles_search an article (never its row), the choice of each
    story's report and the order in SQLite, so Python sees `limit` rows, not a thousand."""
    found = [i for (i,) in db.exec_driver_sql(  # newest first: a walk of the index's rows
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
        (expression, max(scored + 1, newest)))]
    if not found:
        return []
    conditions, params = where
    title = f"{{title}} : ({expression})"
    if len(found) > scored:  # a common word: its newest matches
        floor = found[newest - 1] if len(found) >= newest else 0
        rank, third = "title", (title,)
    else:
        floor = found[-1]
        rank, third = "bm25", ()
        alone = len(groups) == 1 and groups[0] == expression  # found says: few
        if groups and not alone:
            weighed = [g for g in groups if _few(db, g, scored)]
            if weighed != list(groups) or " AND ".join(groups) != expression:
                rank, third = (("weighed", (" AND ".join(weighed),)) if weighed
                               else ("title", (title,)))
    return db.exec_driver_sql(ranked_sql(conditions, rank=rank, limit=limit, offset=offset),
                              (expression, floor, *third, *params)).all()


def _few(db: sa.Connection, expression: str, most: int) -> bool:
    """Whether at most `most` articles match (a walk of at most most + 1 index rows)."""
    return db.exec_driver_sql("SELECT count(*) FROM (SELECT 1 FROM articles_fts WHERE "
                              "articles_fts MATCH ? LIMIT ?)", (expression, most + 1)
                              ).scalar() <= most


def ranked_sql(conditions: str, *, rank: str, limit: int = 20, offset: int = 0) -> str:
    """The ranking statement: for each story its report that is relevant (else not relevant,
    else not yet classified), with text, best ranked, newest; then the stories by relevance,
    rank, newest. Parameters: as candidates_sql's."""
    return ("SELECT id, story FROM (SELECT id, story, relevance, rank, row_number() OVER ("
            "PARTITION BY story ORDER BY relevance DESC, textless, rank, id DESC) AS nth FROM ("
            f"{candidates_sql(conditions, rank=rank)})) WHERE nth = 1 "
            f"ORDER BY relevance DESC, rank, id DESC LIMIT {int(limit)} OFFSET {int(offset)}")


def candidates_sql(conditions: str, *, rank: str) -> str:
    """Matches as narrow rows, read from the FTS index and ix_articles_search only. Parameters:
    ?1 the expression, ?2 the floor (rowid >= it), ?3 the title expression (rank "title") or
    the weighed words' (rank "weighed"), then the conditions'. Ranks: "bm25" of the expression;
    "weighed", BM25 of the weighed words alone; "title": -1 for a title match (the title
    expression's matches above the floor, read once), else 0."""
    score, weights = {
        "bm25": (BM25, ""),
        "weighed": ("coalesce(w.weight, 0.0)", " LEFT JOIN (SELECT rowid AS wid, "
                    f"{BM25} AS weight FROM articles_fts WHERE articles_fts MATCH ?3) w "
                    "ON w.wid = a.id"),
        "title": ("CASE WHEN a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH "
                  "?3 AND rowid >= ?2) THEN -1.0 ELSE 0.0 END", "")}[rank]
    textless = TEXTLESS_ABOVE if rank == "title" else TEXTLESS
    return (f"SELECT a.id AS id, coalesce(a.story_id, a.id) AS story, {score} AS rank, "
            "CASE a.relevant WHEN 1 THEN 2 WHEN 0 THEN 1 ELSE 0 END AS relevance, "
            f"{textless} AS textless FROM articles_fts f "
            f"JOIN articles a INDEXED BY ix_articles_search ON a.id = f.rowid{weights} "
            f"WHERE articles_fts MATCH ?1 AND f.rowid >= ?2{conditions}")


def members_sql(count: int) -> str:
    """Every report of `count` stories, with what names its outlet: index reads (the story_id
    index and the primary key; an article not grouped yet is a story of its own)."""
    marks = ", ".join("?" * count)
    return ("SELECT coalesce(a.story_id, a.id) AS story, a.publisher, a.site_name, a.url, "
            "a.source_id, s.name AS source_name, s.url AS source_url FROM articles a "
            "LEFT JOIN sources s ON s.id = a.source_id "
            f"WHERE a.story_id IN ({marks}) OR (a.id IN ({marks}) AND a.story_id IS NULL) "
            "ORDER BY a.id")


def members(db: sa.Connection, stories: set[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    if stories:
        listed = tuple(stories)
        for row in db.exec_driver_sql(members_sql(len(listed)), listed + listed):
            found.setdefault(row.story, []).append(row)
    return found


@cache
def _reading(view_query: Callable[[], sa.Select]) -> sa.Select:
    """The full rows of some articles (built once: SQLAlchemy then reuses its compiled form)."""
    return view_query().where(articles.c.id.in_(sa.bindparam("ids", expanding=True)))


def search(engine: sa.Engine, view_query: Callable[[], sa.Select], query: str, *, topic: str | None = None,
           since: datetime | None = None, lang: str | None = None, limit: int = 20,
           offset: int = 0) -> list[ArticleView]:
    """The archive's best matches for a user's words (see the module's docstring)."""
    from bot.store.rows import article_view, outlet

    expression = fts.match_query(query)
    if expression is None:
        return []
    with engine.connect() as db:
        if is_postgresql(db):
            hits = search_pg.ranked(db, query, search_pg.filters(topic=topic, since=since, lang=lang),
                                    limit=limit, offset=offset, scored=SCORED, newest=CANDIDATES)
            reports_of = search_pg.members
        else:
            hits = ranked(db, expression, filters(topic=topic, since=since, lang=lang), limit=limit,
                          offset=offset, groups=fts.match_groups(query))
            reports_of = members
        if not hits:
            return []
        rows = {r.id: r for r in db.execute(_reading(view_query), {"ids": [i for i, _ in hits]})}
        outlets = {story: [outlet(r) for r in reports]
                   for story, reports in reports_of(db, {story for _, story in hits}).items()}
    views = []
    for article_id, _ in hits:
        row = rows[article_id]
        view = article_view(row, snippet=fts.snippet(row.text or row.summary, query))
        names = outlets.get(view.story_id, [])
        views.append(replace(view, members=max(len(names), 1), also=tuple(
            n for n in dict.fromkeys(names) if n != view.source_name)))
    return views
