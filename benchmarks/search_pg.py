"""`Archive.search` on PostgreSQL at 10k and 100k archived articles (and 1M when that database has
been built), against a bare `doc @@ query LIMIT 20` on the same database, with the SQLite figures of
benchmarks/search_scale.py (same articles, same 20 queries) beside.

The databases are real migrated PostgreSQL archives (`open_archive`, then the generator's rows of
benchmarks/search_scale.py bulk-loaded with COPY; the full-text rows through a staging table and
`to_tsvector('english', fts.index_text(...))`, as bot.store.dialect writes them, the GIN indexes
built after the load). They are kept on the server under the generator's version, named
techwatch_bench_10k / _100k / _1m (a change of VERSION rebuilds them); the 1M one is built only
when asked (--build-1m) and measured whenever it is there. Build times on this 2-core machine
under the load of other developers: 10k 9 s, 100k 147 s, 1M 1,526 s (of which the GIN indexes
about 6 minutes).

    python benchmarks/search_pg.py [--quick] [--build-1m]   # --quick: 10k only
    (server: $TECHWATCH_BENCH_POSTGRES_URL, else $TECHWATCH_TEST_POSTGRES_URL)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(HERE)]

import psycopg  # noqa: E402
import search_scale  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from search_scale import CORPUS, SOURCES, VERSION, ZERO_HIT, _percentiles, queries  # noqa: E402

from bot.store import fts, open_archive, search_pg  # noqa: E402

ENV = ("TECHWATCH_BENCH_POSTGRES_URL", "TECHWATCH_TEST_POSTGRES_URL")
LABELS = {10_000: "10k", 100_000: "100k", 1_000_000: "1m"}
ARTICLE_COLUMNS = ("id", "source_id", "url", "canonical_url", "title", "summary", "text", "lang",
                   "published", "first_seen", "state", "fetch_fulltext", "attempts",
                   "extraction_status", "relevant", "score", "topics", "story_id")
INDEX_STAGE = 50_000  # full-text rows staged, then indexed, this many at a time


def server_url() -> str | None:
    return next((os.environ[name] for name in ENV if os.environ.get(name)), None)


def database_url(server: str, count: int) -> str:
    return sa.engine.make_url(server).set(database=f"techwatch_bench_{LABELS[count]}") \
        .render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql") \
        .render_as_string(hide_password=False)


def built_version(url: str) -> dict | None:
    """What the database at `url` was built from ({"version", "build_s"}), or None."""
    try:
        with psycopg.connect(_libpq(url), autocommit=True) as db:
            row = db.execute("SELECT to_regclass('bench_build') IS NOT NULL").fetchone()
            if not row[0]:
                return None
            return db.execute("SELECT info FROM bench_build").fetchone()[0]
    except psycopg.OperationalError:
        return None


def build(server: str, count: int) -> float:
    """A migrated archive of `count` articles in its own database; seconds taken. The rows are
    generated in a second process while this one COPYs them; the tsvectors are computed by the
    server from a staging table, the GIN indexes built once at the end."""
    started = time.perf_counter()
    url = database_url(server, count)
    name = sa.engine.make_url(url).database
    with psycopg.connect(_libpq(server), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    open_archive(url).close()
    with psycopg.connect(_libpq(url)) as db:
        db.execute("SET maintenance_work_mem = '1GB'")
        db.execute("SET synchronous_commit = off")
        db.execute("DROP INDEX ix_articles_fts_doc, ix_articles_fts_title")
        db.execute("CREATE UNLOGGED TABLE bench_stage (rowid int, title text, body text)")
        with db.cursor().copy("COPY sources (id, url, name, enabled, last_status, "
                              "consecutive_errors) FROM STDIN") as copy:
            for n in range(SOURCES):
                copy.write_row((f"s{n}", f"https://outlet{n}.example/feed", f"Outlet {n}", True,
                                "ok", 0))
        db.commit()
        context = multiprocessing.get_context("fork")
        batches = context.Queue(maxsize=4)
        maker = context.Process(target=_generate, args=(count, batches), daemon=True)
        maker.start()
        staged = 0
        while (batch := batches.get()) is not None:
            rows, index = batch
            with db.cursor().copy(f"COPY articles ({', '.join(ARTICLE_COLUMNS)}) "
                                  "FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            with db.cursor().copy("COPY bench_stage FROM STDIN") as copy:
                for row in index:
                    copy.write_row(row)
            staged += len(index)
            if staged >= INDEX_STAGE:
                _index_staged(db)
                staged = 0
            db.commit()
        maker.join()
        _index_staged(db)
        db.execute("DROP TABLE bench_stage")
        db.execute("CREATE INDEX ix_articles_fts_doc ON articles_fts USING gin (doc)")
        db.execute("CREATE INDEX ix_articles_fts_title ON articles_fts USING gin (title)")
        db.commit()
    with psycopg.connect(_libpq(url), autocommit=True) as db:
        db.execute("VACUUM ANALYZE")
        seconds = time.perf_counter() - started
        db.execute("CREATE TABLE bench_build (info jsonb)")
        db.execute("INSERT INTO bench_build VALUES (%s)",
                   (json.dumps({"version": VERSION, "build_s": round(seconds, 1)}),))
    return seconds


def _index_staged(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO articles_fts (rowid, title, body) SELECT rowid, "
               "to_tsvector('english', title), to_tsvector('english', body) FROM bench_stage")
    db.execute("TRUNCATE bench_stage")


def _generate(count: int, batches) -> None:
    """In a second process: the article rows and full-text rows, search_scale.BATCH at a time."""
    rows, index = [], []
    for a in search_scale.articles(count):
        rows.append((a["id"], a["source_id"], a["url"], a["canonical_url"], a["title"],
                     a["summary"], a["text"], a["lang"], a["published"].replace(tzinfo=None),
                     a["first_seen"].replace(tzinfo=None), "done", True, 1, "full",
                     a["relevant"], a["score"], a["topics"], a["story_id"]))
        index.append((a["id"], fts.index_text(a["title"]), fts.index_text(a["text"] or a["summary"])))
        if len(rows) == search_scale.BATCH:
            batches.put((rows, index))
            rows, index = [], []
    batches.put((rows, index))
    batches.put(None)


def archive_database(server: str, count: int) -> tuple[str, float | None, float | None]:
    """The URL of the archive of `count` articles (built now if missing or out of date), the
    seconds a build now took, and those the cached one took."""
    url = database_url(server, count)
    info = built_version(url)
    if info and info.get("version") == VERSION:
        return url, None, info.get("build_s")
    return url, build(server, count), None


def measure_database(url: str, repeat: int) -> dict:
    archive = open_archive(url, read_only=True)
    bare = psycopg.connect(_libpq(url), autocommit=True)
    try:
        work = queries()
        with archive.engine.connect() as db:  # the tsquery each search makes, for the baseline
            expressions = [getattr(search_pg.words(db, text), "expression", "") for text, _ in work]
        for text, options in work:  # warm the caches as a running bot's would be
            archive.search(text, **options)
        ours, base, zero = [], [], []
        for _ in range(repeat):
            for (text, options), expression in zip(work, expressions, strict=True):
                started = time.perf_counter()
                bare.execute("SELECT rowid FROM articles_fts WHERE doc @@ CAST(%s AS tsquery) "
                             "LIMIT 20", (expression,)).fetchall()
                base.append(time.perf_counter() - started)
                started = time.perf_counter()
                archive.search(text, **options)
                ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            archive.search(ZERO_HIT[0], **ZERO_HIT[1])
            zero.append(time.perf_counter() - started)
        per_query = {f"{text} {options or ''}".strip(): round(min(ours[k::len(work)]) * 1000, 2)
                     for k, (text, options) in enumerate(work)}
        ranked, baseline = _percentiles(ours), _percentiles(base)
        zero.sort()
        return {"search": ranked, "baseline": baseline,
                "ratio_p50": round(ranked["p50_ms"] / max(baseline["p50_ms"], 1e-3), 1),
                "ratio_p95": round(ranked["p95_ms"] / max(baseline["p95_ms"], 1e-3), 1),
                "zero_hit_ms": round(zero[len(zero) // 2] * 1000, 2),
                "slowest": sorted(per_query.items(), key=lambda kv: -kv[1])[:3],
                "per_query_ms": per_query}
    finally:
        bare.close()
        archive.close()


def sqlite_figures(count: int, scratch: Path) -> dict | None:
    """search_scale's figures for the same articles (None for 1M unless its file is cached)."""
    if count >= 1_000_000 and not (search_scale.CACHE / f"{VERSION}-{count}.db").exists():
        return None
    path, _ = search_scale.archive_file(count, scratch)
    result = search_scale.measure_file(path, repeat=3 if count >= 1_000_000 else 5)
    return {k: result[k] for k in ("search", "baseline", "ratio_p50", "ratio_p95", "zero_hit_ms")}


def measure(quick: bool, build_1m: bool = False) -> dict:
    import tempfile

    if not (CORPUS / "labeled" / "dev.jsonl").exists():
        return {"skipped": f"corpus not found at {CORPUS}"}
    server = server_url()
    if server is None:
        return {"skipped": f"no PostgreSQL server: set {ENV[0]} or {ENV[1]}"}
    sizes = [10_000] if quick else [10_000, 100_000]
    if not quick and (build_1m or built_version(database_url(server, 1_000_000))):
        sizes.append(1_000_000)
    figures: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        for count in sizes:
            url, built, cached = archive_database(server, count)
            if built is not None:
                print(f"built {count:,} articles on PostgreSQL in {built:.0f} s", flush=True)
            result = measure_database(url, repeat=3 if count >= 1_000_000 else 5)
            result["build_s" if built is not None else "build_s_when_cached"] = \
                round(built if built is not None else cached or 0, 1)
            result["sqlite"] = sqlite_figures(count, Path(scratch))
            figures[str(count)] = result
            lite = result["sqlite"]
            print(f"{count:>9,}: PostgreSQL search p50/p95/max {result['search']['p50_ms']}/"
                  f"{result['search']['p95_ms']}/{result['search']['max_ms']} ms, bare @@ "
                  f"{result['baseline']['p50_ms']}/{result['baseline']['p95_ms']} ms, ratio p50 "
                  f"{result['ratio_p50']}x p95 {result['ratio_p95']}x; slowest {result['slowest']}"
                  + (f"; SQLite p50/p95 {lite['search']['p50_ms']}/{lite['search']['p95_ms']} ms"
                     if lite else ""), flush=True)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10k articles only")
    parser.add_argument("--build-1m", action="store_true",
                        help="build (or rebuild) techwatch_bench_1m and measure it too")
    args = parser.parse_args()
    print(json.dumps(measure(args.quick, args.build_1m), indent=1, ensure_ascii=False))
