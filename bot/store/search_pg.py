"""PostgreSQL's archive search: bot.store.search's ranking on the tsvector index (articles_fts:
title, body and their weighted union doc, GIN-indexed).

The same steps and the same order as SQLite's (see bot.store.search): a query's newest matches are
read first (`newest_matches`: the primary key walked newest first, or the GIN index, whichever
the planner's estimate of the matches says is cheaper), and only those articles are ranked:
- a word in more than SCORED articles: its CANDIDATES newest matches, title match first, newest;
- otherwise BM25 as FTS5 computes it (k1 1.2, b 0.75, a title match weighs ten body ones; a word
  in more than SCORED articles selects but does not weigh), computed here in Python over the at
  most SCORED matches: PostgreSQL has no BM25. Its inputs, read from the tsvectors: a phrase's
  count in a column is its rarest word's (positions are there, phrase matches are not counted);
  a row's length is its distinct words (a tsvector's length: its positions are not read); the
  average length is the matches' (the archive's would cost a read of every row); IDF counts
  matches up to IDF_COUNT.
Then each story's best report (relevant, with text, best ranked, newest), relevant stories first.

The user's words go through `to_tsquery('english', ...)`, quoted word by word (bot.store.fts):
stemmed as the index was, stopwords dropped. Words that are all stopwords match nothing (a query
of only excluded words would match everything, so none is made).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bot.store import fts

K1, B = 1.2, 0.75  # FTS5's bm25()
TITLE_WEIGHT = 10.0  # a title match weighs ten body ones
# the newest matches: a row tested while walking the primary key costs ~WALK_US µs (its tsvector
# read from TOAST), a GIN posting read ~GIN_US (benchmarks/search_pg.py); WINDOW: how many times
# more of the newest ids than the estimate says hold the matches are intersected with them
WALK_US, GIN_US, WINDOW = 8.0, 0.3, 3
PROBE = 600  # rows a query of several words is first tested on: how often they go together
LONE = re.compile(r"'(?:[^']|'')*'(?::\*)?")  # one lexeme: the planner's estimate holds
IDF_COUNT = 3_000  # a word's matches are counted up to this many (its IDF changes little above)
LEXEME = re.compile(r"'((?:[^']|'')*)'(:\*)?")
RELEVANCE = "CASE WHEN a.relevant THEN 2 WHEN NOT a.relevant THEN 1 ELSE 0 END"


@dataclass(frozen=True)
class Words:
    """A query as normalized tsquery texts (stemmed, stopwords gone), safe to CAST."""

    expression: str  # every required group, less the excluded words
    groups: tuple[str, ...]  # each required group alone
    phrases: tuple[tuple[str, ...], ...]  # each group's phrases


def filters(*, topic: str | None, since: datetime | None,
            lang: str | None) -> tuple[str, dict[str, Any]]:
    """Conditions on the article `a`, as bot.store.search.filters' (topics is jsonb here)."""
    where, params = [], {}
    if since is not None:  # published since then: an old page found today is not recent
        where.append("coalesce(a.published, a.first_seen) >= :since")
        params["since"] = since.astimezone(UTC).replace(tzinfo=None)  # as UTCDateTime stores it
    if topic:
        where.append("a.topics @> jsonb_build_array(CAST(:topic AS text))")
        params["topic"] = topic
    if lang:
        where.append("a.lang = :lang")
        params["lang"] = lang
    return "".join(f" AND {w}" for w in where), params


def words(db: sa.Connection, query: str) -> Words | None:
    """The user's words through to_tsquery (one statement); None when nothing is left to find."""
    parsed = fts.tsquery_words(query)
    if parsed is None:
        return None
    groups, excluded = parsed
    sources = [" | ".join(f"({p})" for p in g) for g in groups] + [p for g in groups for p in g]
    if excluded:
        sources.append(" | ".join(f"({p})" for p in excluded))
    texts = db.execute(sa.text(
        "SELECT to_tsquery('english', s)::text FROM unnest(CAST(:s AS text[])) "
        "WITH ORDINALITY AS u(s, n) ORDER BY n"), {"s": sources}).scalars().all()
    normal, rest = texts[:len(groups)], iter(texts[len(groups):])
    phrases = [[next(rest) for _ in g] for g in groups]
    kept = [(q, tuple(p for p in ps if p)) for q, ps in zip(normal, phrases, strict=True) if q]
    if not kept:  # only stopwords: nothing to find (never a query of the excluded alone)
        return None
    expression = " & ".join(f"({q})" if len(kept) > 1 else q for q, _ in kept)
    if excluded and (without := next(rest)):
        expression = f"({expression}) & !({without})"
    return Words(expression, tuple(q for q, _ in kept), tuple(p for _, p in kept))


def ranked(db: sa.Connection, query: str, where: tuple[str, dict[str, Any]] = ("", {}), *,
           limit: int, offset: int = 0, scored: int, newest: int) -> list[tuple[int, int]]:
    """(id, story) of the best matches of a user's words that pass the filters, one a story,
    ranked as bot.store.search.ranked ranks them."""
    found_words = words(db, query)
    if found_words is None:
        return []
    expression = found_words.expression
    index = Index(db)
    found = index.newest(expression, max(scored + 1, newest))
    if not found:
        return []
    if len(found) > scored:  # a common word: its newest matches, title matches first
        return _by_title(db, found[:newest], expression, where, limit=limit, offset=offset)
    index.counts[expression] = (len(found), len(found))
    weighed = [p for g, ps in zip(found_words.groups, found_words.phrases, strict=True)
               if index.count(g, scored) <= scored for p in ps]
    if not weighed:  # every word common, the whole few: title match, then newest
        return _by_title(db, found, expression, where, limit=limit, offset=offset)
    return _by_bm25(index, found, weighed, where, limit=limit, offset=offset)


class Index:
    """One search's reads of the full-text index, and what they learn (its size, counts)."""

    def __init__(self, db: sa.Connection) -> None:
        self.db = db
        self.counts: dict[str, tuple[int, int]] = {}  # tsquery: (matches, counted up to)
        self._size: tuple[float, int] | None = None

    def size(self) -> tuple[float, int]:
        """The planner's estimate of the articles indexed, and the newest id."""
        if self._size is None:
            total, last = self.db.execute(sa.text(
                "SELECT reltuples, (SELECT max(rowid) FROM articles_fts) FROM pg_class "
                "WHERE oid = 'articles_fts'::regclass")).one()
            self._size = max(float(total), 1.0), last or 0
        return self._size

    def articles(self) -> int:
        """How many articles the index holds: the estimate when large (exact enough for a
        logarithm), else counted."""
        total, _ = self.size()
        if total >= 100_000:
            return int(total)
        return self.db.execute(sa.text("SELECT count(*) FROM articles_fts")).scalar_one()

    def newest(self, tsquery: str, most: int) -> list[int]:
        """The ids of the `most` newest matches, newest first, read the cheaper of two ways (by
        the planner's estimate of the matches): a common word walks the primary key newest
        first, testing each row (a read of its tsvector from TOAST, ~5-10 µs: a few thousand
        rows); a rarer one reads its matches from the GIN index, intersected with the newest
        ids that should hold them (WINDOW times as many), and only those rows; all of them when
        that window comes short."""
        plan = self.db.execute(sa.text("EXPLAIN (FORMAT JSON) SELECT rowid FROM articles_fts "
                                       "WHERE doc @@ CAST(:q AS tsquery)"), {"q": tsquery}).scalar()
        estimate = max(float(plan[0]["Plan"]["Plan Rows"]), 1.0)
        total, last = self.size()
        if not LONE.fullmatch(tsquery):  # words of a phrase or of a topic go together far more
            probe = self._probe(tsquery, most)  # often than the planner's product says
            if len(probe) == most or last <= PROBE:
                return probe  # (the newest PROBE rows hold them, or are all there is)
            estimate = max(estimate, len(probe) / PROBE * total)
        walk = most * total / estimate  # rows the walk tests
        if walk * WALK_US < estimate * GIN_US:
            return self._matches(tsquery, most, walk=True)
        window = int(walk * WINDOW)
        if window < total // 4 and estimate > most and last:
            found = self._matches(tsquery, most, above=last - window)
            if len(found) == most:
                return found
        return self._matches(tsquery, most)

    def _probe(self, tsquery: str, most: int) -> list[int]:
        """The matches among the newest PROBE rows (a walk of the primary key)."""
        return list(self.db.execute(sa.text(
            "SELECT rowid FROM (SELECT rowid, doc FROM articles_fts ORDER BY rowid DESC "
            "LIMIT :probe) s WHERE doc @@ CAST(:q AS tsquery) ORDER BY rowid DESC LIMIT :n"),
            {"q": tsquery, "n": most, "probe": PROBE}).scalars())

    def _matches(self, tsquery: str, most: int, *, walk: bool = False,
                 above: int | None = None) -> list[int]:
        """The newest matches: walking the primary key, else through GIN (above an id)."""
        setting = "enable_bitmapscan" if walk else "enable_indexscan"
        self.db.exec_driver_sql(f"SET LOCAL {setting} = off")  # this transaction's
        found = list(self.db.execute(sa.text(
            "SELECT rowid FROM articles_fts WHERE doc @@ CAST(:q AS tsquery)"
            + (" AND rowid > :above" if above is not None else "")
            + " ORDER BY rowid DESC LIMIT :n"), {"q": tsquery, "n": most, "above": above}
        ).scalars())
        self.db.exec_driver_sql(f"SET LOCAL {setting} TO DEFAULT")
        return found

    def count(self, tsquery: str, most: int) -> int:
        """How many articles match, counted up to most + 1 (each count remembered with the most
        it went to; a plain count with a LIMIT may scan the table, so the newest are read)."""
        known, upto = self.counts.get(tsquery, (1, 0))
        if known > upto and upto < most:  # unknown (or known to exceed fewer than asked)
            known = len(self.newest(tsquery, most + 1))
            self.counts[tsquery] = (known, most)
        return known


def _by_title(db: sa.Connection, ids: list[int], expression: str, where: tuple[str, dict],
              *, limit: int, offset: int) -> list[tuple[int, int]]:
    """Rank `ids` by title match, then newest, each story's best report standing for it (in
    the database: only the page comes back)."""
    conditions, params = where
    return [tuple(r) for r in db.execute(sa.text(
        "SELECT id, story FROM (SELECT id, story, relevance, rank, row_number() OVER ("
        "PARTITION BY story ORDER BY relevance DESC, textless, rank, id DESC) AS nth FROM ("
        "SELECT a.id, coalesce(a.story_id, a.id) AS story, "
        f"{RELEVANCE} AS relevance, a.text = '' AS textless, "
        "CASE WHEN f.title @@ CAST(:q AS tsquery) THEN -1 ELSE 0 END AS rank "
        "FROM articles_fts f JOIN articles a ON a.id = f.rowid "
        f"WHERE f.rowid = ANY(:ids){conditions}) c) r WHERE nth = 1 "
        "ORDER BY relevance DESC, rank, id DESC LIMIT :limit OFFSET :offset"),
        {"q": expression, "ids": list(ids), "limit": limit, "offset": offset, **params})]


def _by_bm25(index: Index, ids: list[int], weighed: list[str], where: tuple[str, dict], *,
             limit: int, offset: int) -> list[tuple[int, int]]:
    """Rank `ids` (at most SCORED) by BM25 of the weighed phrases (module docstring)."""
    conditions, params = where
    terms = [[(m.group(1).replace("''", "'"), bool(m.group(2))) for m in LEXEME.finditer(p)]
             for p in weighed]
    exact = sorted({lexeme for phrase in terms for lexeme, prefix in phrase if not prefix})
    prefixes = sorted({_like(lexeme) + "%" for phrase in terms for lexeme, prefix in phrase
                       if prefix})
    rows = index.db.execute(sa.text(
        f"SELECT a.id, coalesce(a.story_id, a.id) AS story, {RELEVANCE} AS relevance, "
        "a.text = '' AS textless, length(f.title) + length(f.body) AS length, "
        f"({_hits('f.title', prefixes)}) AS title, ({_hits('f.body', prefixes)}) AS body "
        "FROM articles_fts f JOIN articles a ON a.id = f.rowid "
        f"WHERE f.rowid = ANY(:ids){conditions}"),
        {"ids": list(ids), "exact": exact, "prefixes": prefixes, **params}).all()
    if not rows:
        return []
    total = index.articles()
    idf = [_idf(total, index.count(p, IDF_COUNT - 1)) for p in weighed]
    average = sum(r.length for r in rows) / len(rows) or 1.0
    best: dict[int, tuple] = {}
    for r in rows:
        score = 0.0
        for phrase, weight in zip(terms, idf, strict=True):
            f = (TITLE_WEIGHT * _frequency(r.title, phrase)) + _frequency(r.body, phrase)
            score += weight * f * (K1 + 1) / (f + K1 * (1 - B + B * r.length / average))
        key = (-r.relevance, r.textless, -score, -r.id)  # the story's best report first
        if r.story not in best or key < best[r.story][0]:
            best[r.story] = (key, r.id)
    order = sorted(((k[0], k[2], k[3]), i, story) for story, (k, i) in best.items())
    return [(i, story) for _, i, story in order[offset:offset + limit]]


def _hits(column: str, prefixes: list[str]) -> str:
    """The count of each wanted lexeme's positions in a tsvector, as JSON: the exact ones picked
    out in C (setweight marks them, ts_filter keeps them: no row a lexeme), prefixes matched
    against every lexeme."""
    picked = (f"SELECT u.lexeme, cardinality(u.positions) AS n FROM unnest(ts_filter(setweight("
              f"{column}, 'A', CAST(:exact AS text[])), '{{a}}')) u")
    if prefixes:
        picked += (f" UNION ALL SELECT u.lexeme, cardinality(u.positions) FROM unnest({column}) u "
                   "WHERE u.lexeme LIKE ANY(CAST(:prefixes AS text[]))")
    return f"SELECT coalesce(jsonb_object_agg(h.lexeme, h.n), '{{}}') FROM ({picked}) h"


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _frequency(hits: dict[str, int], phrase: list[tuple[str, bool]]) -> int:
    """A phrase's count in a column: that of its rarest word (a prefix: its words' together)."""
    return min((sum(n for lexeme, n in hits.items() if lexeme.startswith(word)) if prefix
                else hits.get(word, 0)) for word, prefix in phrase) if phrase else 0


def _idf(total: int, hits: int) -> float:
    """FTS5's: log((N - n + 0.5) / (n + 0.5)), at least 1e-6."""
    value = math.log((total - hits + 0.5) / (hits + 0.5)) if total > hits else 0.0
    return value if value > 0 else 1e-6


def members(db: sa.Connection, stories: set[int]) -> dict[int, list[Any]]:
    """Every report of some stories, with what names its outlet (bot.store.search.members_sql)."""
    found: dict[int, list[Any]] = {}
    if stories:
        for row in db.execute(sa.text(
                "SELECT coalesce(a.story_id, a.id) AS story, a.publisher, a.site_name, a.url, "
                "a.source_id, s.name AS source_name, s.url AS source_url FROM articles a "
                "LEFT JOIN sources s ON s.id = a.source_id WHERE a.story_id = ANY(:s) "
                "OR (a.id = ANY(:s) AND a.story_id IS NULL) ORDER BY a.id"),
                {"s": list(stories)}):
            found.setdefault(row.story, []).append(row)
    return found
