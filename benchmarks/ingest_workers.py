"""Several workers on one PostgreSQL archive: the first ingest of a loopback site's N articles
(behind 8 feeds; the extraction bench's real pages, read in place, repeated as needed) by 1, 2
and 4 workers started together on one PostgreSQL database, and by one on an SQLite file, the
baseline measured in the same run. Two ways to run them: `techwatch run --once` each (the clock
stops when the last exits) and `techwatch run` daemons with a 1 s tick (the clock stops when the
archive has every page done). Each archive is made (schema and seed documents) before the clock
starts; start-up is on the clock. Reported besides: the articles each worker processed (from its
"cycle done" lines) and the pages fetched more than once.

With --once, the first worker to look claims every due source and then every page they bring:
the others find nothing and exit (the claims keep them off the same work, they do not share it).
Daemons share it across their ticks: a page a polling worker has archived as pending is claimed
by whichever worker ticks next. This machine has 2 cores: past two workers, more processes
share them (each worker's main process and one extraction process), so four workers measure
contention as much as scaling.

    python benchmarks/ingest_workers.py [--quick]     # --quick: 150 articles, else 600
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from conftest import CORPUS, write_config  # noqa: E402
from ingest import TreeWatch  # noqa: E402
from sitesrv import Site  # noqa: E402
from storytexts import FUSION_DEAL, TEMPLATE_DEALS  # noqa: E402
from wiresite import WireSite, bench_bodies  # noqa: E402

FEEDS = 8
WORKERS = (1, 2, 4)  # on PostgreSQL; the baseline is one on SQLite
# "once": `techwatch run --once` each (cron's way); "daemon": `techwatch run` with a 1 s tick
MODES = ("once", "daemon")
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


def ingest(config: Path, database: str, workers: int, mode: str, pages: int) -> dict:
    """`workers` processes started together: `techwatch run --once` each (the time to the last
    one's exit), or `techwatch run` daemons (the time until the archive has every page done;
    then they are stopped)."""
    logs = [config.parent / f"worker{n}.log" for n in range(workers)]
    command = [*techwatch(), "--config", str(config), "run", *(["--once"] if mode == "once" else [])]
    started = time.perf_counter()
    processes, watches = [], []
    for log in logs:
        with log.open("wb") as out:
            processes.append(subprocess.Popen(command, env=_env(database),
                                              stdout=subprocess.DEVNULL, stderr=out,
                                              cwd=config.parent))
        watches.append(TreeWatch(processes[-1].pid))
    if mode == "once":
        codes = [p.wait() for p in processes]
        seconds = time.perf_counter() - started
    else:
        deadline = time.monotonic() + 600
        while archived(database).get("done", 0) < pages and time.monotonic() < deadline and \
                all(p.poll() is None for p in processes):
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        for p in processes:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=30) for p in processes]
    for watch in watches:
        watch.join()
    failed = [(c, log.read_text(errors="replace")[-1500:]) for c, log in zip(codes, logs,
                                                                              strict=True) if c]
    if failed:
        raise SystemExit(f"techwatch run ({mode}) failed with {workers} workers: {failed[0]}")
    shares = [sum(int(n) for n in re.findall(r"(\d+) articles processed",
                                             log.read_text(errors="replace"))) for log in logs]
    # CPU of each worker's process tree (main, forkserver, extraction processes), sampled from
    # /proc as benchmarks/ingest.py does: start-up, fetching, extraction and writes
    return {"seconds": round(seconds, 2), "articles_by_worker": shares,
            "cpu_seconds": round(sum(sum(w.cpu.values()) for w in watches), 1),
            "cpu_seconds_by_worker": [round(sum(w.cpu.values()), 1) for w in watches],
            "peak_rss_mb_by_worker": [round(w.peak_rss / 2**20) for w in watches]}


def archived(database: str) -> dict:
    import sqlalchemy as sa

    engine = sa.create_engine(database, poolclass=sa.pool.NullPool)
    with closing(engine.connect()) as db:
        states = dict(db.execute(sa.text(
            "SELECT state, count(*) FROM articles WHERE source_id != 'seed' GROUP BY state")).all())
    engine.dispose()
    return states


@contextmanager
def pg_database(server: str | None) -> Iterator[str | None]:
    """A new database on the server (dropped afterwards), or None: SQLite."""
    if server is None:
        yield None
        return
    from pgdb import throwaway_database

    with throwaway_database(server=server, prefix="techwatch_bench_workers") as url:
        yield url


def one_run(wire: WireSite, directory: Path, workers: int, server: str | None, mode: str,
            ) -> dict:
    pages = len(wire.page_paths())
    with pg_database(server) as pg:
        database = pg or f"sqlite:///{directory / 'techwatch.db'}"
        config = write_config(directory, wire.sources(), database=database, extra=(
            "[poll]\ndefault_poll_minutes = 60\nmin_minutes = 60\ntick_seconds = 1\n"))
        config.write_text(config.read_text()
                          .replace("per_host_concurrency = 4", "per_host_concurrency = 16")
                          .replace("[extract]\nworkers = 2", "[extract]\nworkers = 1"))
        prepare(config, database)
        before = wire.hits()
        figures = ingest(config, database, workers, mode, pages)
        hits = wire.hits() - before
        states = archived(database)
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
    runs: dict[str, dict[str, dict]] = {mode: {} for mode in MODES}
    try:
        wire = WireSite(site, FEEDS, -(-count // FEEDS), published=time.time(),
                        reports=FUSION_DEAL + TEMPLATE_DEALS[:5], bodies=bodies)
        with tempfile.TemporaryDirectory() as tmp:
            for mode in MODES:
                for name, workers, pg in [("sqlite_1", 1, None)] + [
                        (f"postgresql_{n}", n, server) for n in WORKERS]:
                    print(f"ingest_workers: {mode} {name}", file=sys.stderr, flush=True)
                    try:
                        runs[mode][name] = one_run(wire, Path(tmp) / f"{mode}_{name}", workers,
                                                   pg, mode)
                    except SystemExit as e:  # the other configurations are still measured
                        runs[mode][name] = {"workers": workers, "error": str(e)[:1500]}
    finally:
        site.stop()
    for mode_runs in runs.values():
        base = mode_runs["sqlite_1"].get("seconds")
        for run in mode_runs.values():
            if "seconds" in run and base:
                run["ratio_to_sqlite_1"] = round(run["seconds"] / base, 2)
    return {"articles": len(wire.page_paths()), "feeds": FEEDS, "cores": os.cpu_count(),
            "pages": "extraction bench (repeated)" if bodies else "generated",
            "baseline": "one worker on SQLite in the same mode, same run", "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    figures = measure(parser.parse_args().quick)
    print(json.dumps(figures, indent=2))
    for mode, runs in figures.get("runs", {}).items():
        for name, run in runs.items():
            if "error" in run:
                print(f"{mode:6} {name:14} FAILED: {run['error'][:300]}", file=sys.stderr)
                continue
            print(f"{mode:6} {name:14} {run['seconds']:7.2f} s  {run['ratio_to_sqlite_1']:5.2f}x "
                  f"sqlite_1  {run['articles_per_second']:6.1f} articles/s  done {run['done']}"
                  f"{'' if run['complete'] else ' (INCOMPLETE)'}  by worker "
                  f"{run['articles_by_worker']}  CPU {run['cpu_seconds_by_worker']} s  fetched twice "
                  f"{run['pages_fetched_twice_or_more']}", file=sys.stderr)


if __name__ == "__main__":
    main()
