"""Several workers on one PostgreSQL archive: the first ingest of a loopback site's N articles
(behind 8 feeds; the extraction bench's real pages, read in place, repeated as needed) by 1, 2
and 4 `techwatch run --once` processes started together on one PostgreSQL database, and by one
on an SQLite file, the baseline measured in the same run. Each archive is made (schema and seed
documents) before the clock starts; each run's clock runs from the start of its workers to the
exit of the last, start-up included, and the archive is checked afterwards: every article done,
and how many pages were fetched more than once.

This machine has 2 cores: past two workers, more processes share them (each worker's main
process and one extraction process), so four workers measure contention as much as scaling.

    python benchmarks/ingest_workers.py [--quick]     # --quick: 150 articles, else 600
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import closing, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import CORPUS, write_config  # noqa: E402
from sitesrv import Site  # noqa: E402
from storytexts import FUSION_DEAL, TEMPLATE_DEALS  # noqa: E402
from wiresite import WireSite, bench_bodies  # noqa: E402

FEEDS = 8
WORKERS = (1, 2, 4)  # on PostgreSQL; the baseline is one on SQLite
PG_ENV = ("TECHWATCH_BENCH_POSTGRES_URL", "TECHWATCH_TEST_POSTGRES_URL")


def techwatch() -> list[str]:
    script = Path(sys.executable).with_name("techwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def prepare(config: Path, database: str) -> None:
    """The archive made and its seed documents archived, off the clock (a writing command that
    fetches nothing: a dry-run digest)."""
    done = subprocess.run([*techwatch(), "--config", str(config), "-q", "digest", "--dry-run"],
                          env=_env(database), capture_output=True, text=True, cwd=config.parent)
    if done.returncode != 0:
        raise SystemExit(f"preparing {database}: {done.stderr[-2000:]}")


def _env(database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return {**env, "PYTHONPATH": str(ROOT), "TECHWATCH_DATABASE_URL": database}


def ingest(config: Path, database: str, workers: int) -> dict:
    """`workers` processes of `techwatch run --once` started together; the time to the last
    one's exit."""
    logs = [config.parent / f"worker{n}.log" for n in range(workers)]
    started = time.perf_counter()
    processes = []
    for log in logs:
        with log.open("wb") as out:
            processes.append(subprocess.Popen(
                [*techwatch(), "--config", str(config), "-q", "run", "--once"],
                env=_env(database), stdout=subprocess.DEVNULL, stderr=out, cwd=config.parent))
    codes = [p.wait() for p in processes]
    seconds = time.perf_counter() - started
    failed = [(c, log.read_text(errors="replace")[-1500:]) for c, log in zip(codes, logs,
                                                                              strict=True) if c]
    if failed:
        raise SystemExit(f"techwatch run --once failed with {workers} workers: {failed[0]}")
    return {"seconds": round(seconds, 2)}


def archived(database: str) -> dict:
    import sqlalchemy as sa

    engine = sa.create_engine(database, poolclass=sa.pool.NullPool)
    with closing(engine.connect()) as db:
        states = dict(db.execute(sa.text(
            "SELECT state, count(*) FROM articles WHERE source_id != 'seed' GROUP BY state")).all())
    engine.dispose()
    return states


def pg_database(url: str | None):
    if url is None:
        return nullcontext(None)
    from pgdb import throwaway_database

    return throwaway_database()


def one_run(site: Site, wire: WireSite, tmp: Path, name: str, workers: int,
            server: str | None) -> dict:
    with pg_database(server) as pg:
        directory = tmp / name
        database = pg or f"sqlite:///{directory / 'techwatch.db'}"
        config = write_config(directory, wire.sources(), database=database)
        config.write_text(config.read_text()
                          .replace("per_host_concurrency = 4", "per_host_concurrency = 16")
                          .replace("[extract]\nworkers = 2", "[extract]\nworkers = 1"))
        prepare(config, database)
        before = wire.hits()
        figures = ingest(config, database, workers)
        hits = wire.hits() - before
        states = archived(database)
    pages = len(wire.page_paths())
    figures.update({"workers": workers, "done": states.get("done", 0),
                    "not_done": sum(n for s, n in states.items() if s != "done"),
                    "pages_fetched": sum(hits.values()),
                    "pages_fetched_twice_or_more": sum(1 for n in hits.values() if n > 1),
                    "articles_per_second": round(states.get("done", 0) / figures["seconds"], 1),
                    "complete": states.get("done", 0) == pages})
    return figures


def measure(quick: bool = False) -> dict:
    count = 150 if quick else 600
    server = next((os.environ[k] for k in PG_ENV if os.environ.get(k)), None)
    if server is None:
        return {"skipped": f"no PostgreSQL server: set {PG_ENV[0]} or {PG_ENV[1]} (e.g. "
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test)"}
    bench = CORPUS / "extraction-bench"
    bodies = bench_bodies(bench, 181) if bench.exists() else None
    site = Site().start()
    runs = {}
    try:
        wire = WireSite(site, FEEDS, -(-count // FEEDS), published=time.time(),
                        reports=FUSION_DEAL + TEMPLATE_DEALS[:5], bodies=bodies)
        with tempfile.TemporaryDirectory() as tmp:
            runs["sqlite_1"] = one_run(site, wire, Path(tmp), "sqlite_1", 1, None)
            for n in WORKERS:
                try:
                    runs[f"postgresql_{n}"] = one_run(site, wire, Path(tmp), f"postgresql_{n}",
                                                      n, server)
                except SystemExit as e:  # the other configurations are still measured
                    runs[f"postgresql_{n}"] = {"workers": n, "error": str(e)[:1500]}
    finally:
        site.stop()
    base = runs["sqlite_1"]["seconds"]
    for run in runs.values():
        if "seconds" in run:
            run["ratio_to_sqlite_1"] = round(run["seconds"] / base, 2)
    return {"articles": len(wire.page_paths()), "feeds": FEEDS, "cores": os.cpu_count(),
            "pages": "extraction bench (repeated)" if bodies else "generated",
            "baseline": "one `techwatch run --once` on SQLite, same run", "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    figures = measure(parser.parse_args().quick)
    print(json.dumps(figures, indent=2))
    for name, run in figures.get("runs", {}).items():
        if "error" in run:
            print(f"{name:14} FAILED: {run['error'][:300]}", file=sys.stderr)
            continue
        print(f"{name:14} {run['seconds']:7.2f} s  {run['ratio_to_sqlite_1']:5.2f}x sqlite_1  "
              f"{run['articles_per_second']:6.1f} articles/s  done {run['done']}"
              f"{'' if run['complete'] else ' (INCOMPLETE)'}  fetched twice "
              f"{run['pages_fetched_twice_or_more']}", file=sys.stderr)


if __name__ == "__main__":
    main()
