"""The archive's web pages on a 100k-article archive: p50/p95 render time of `/`, `/search`,
`/stories/<id>`, `/articles/<id>`, `/sources` and `/trends`, and the largest HTML each gives.

The archive is search_scale.py's cached 100k file (~/.cache/techwatch-bench/, built in about
20 s the first time), opened read-only as `techwatch serve` would read it. The pages are asked of
the WSGI application in this process (Werkzeug's test client: routing, queries, templates and
headers, no sockets), the clock set to the archive's newest discovery so that `/` has its day
of news (and a week's, a month's). Each figure is also given as a ratio to `Archive.search`'s
p95 over the same queries on the same file in the same run (the issue: pages in <= 100 ms p95,
as a ratio to the search figure; HTML under 100 KB).

    python benchmarks/web_pages.py [--quick]      # --quick: fewer requests (50 a page, not 200)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(HERE)]

import search_scale  # noqa: E402
from conftest import CORPUS  # noqa: E402

SIZE = 100_000
PAGES = ("/", "/search", "/stories/<id>", "/articles/<id>", "/sources", "/trends")
TARGET_MS = 100.0
TARGET_BYTES = 100_000


def search_url(text: str, options: dict) -> str:
    """`techwatch search` options as the search page's query string."""
    params = {"q": text}
    for key, value in options.items():
        params[key] = f"{value:%Y-%m-%d}" if isinstance(value, datetime) else value
    return "/search?" + urlencode(params)


def sample_ids(path: Path, count: int) -> tuple[list[int], list[int]]:
    """Stories (relevant ones, as readers open them from a digest) and articles, at random."""
    import sqlite3

    rng = random.Random(22)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (top,) = db.execute("SELECT max(id) FROM articles").fetchone()
        articles = rng.sample(range(1, top + 1), count)
        stories = [row[0] for row in db.execute(
            "SELECT DISTINCT coalesce(story_id, id) FROM articles WHERE relevant = 1 "
            "ORDER BY coalesce(story_id, id)")]
    finally:
        db.close()
    return rng.sample(stories, count), articles


def web_client(path: Path, scratch: Path, now: datetime):
    """The pages' WSGI application on the archive at `path`, read-only, as in-process client."""
    from werkzeug.test import Client

    from bot.app import load_app
    from bot.web.serve import build_web_app

    config = scratch / "techwatch.toml"
    config.write_text(f'topics = "{ROOT / "config" / "topics.toml"}"\nseeds = "{ROOT / "seeds"}"\n'
                      f'[storage]\ndatabase = "sqlite:///{path}"\n', encoding="utf-8")
    (scratch / "sources.toml").write_text("", encoding="utf-8")
    env = {"PATH": ""}  # no TECHWATCH_*, no Slack token: loopback, nobody asked to sign in
    app = load_app(str(config), env, lambda: now, reads=True)
    return app, Client(build_web_app(app, env))


def timed(client, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(url)
    body = response.get_data()
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {body[:200]!r}")
    return seconds, len(body)


def measure(quick: bool = False) -> dict:
    if not (CORPUS / "labeled" / "dev.jsonl").exists():
        return {"skipped": f"corpus not found at {CORPUS}"}
    repeat, least = (3, 50) if quick else (10, 200)  # each page asked `least` times at least
    with tempfile.TemporaryDirectory() as scratch:
        path, built = search_scale.archive_file(SIZE, Path(scratch))
        if built is not None:
            print(f"built {SIZE:,} articles in {built:.0f} s ({path})", flush=True)
        app, client = web_client(path, Path(scratch), now=search_scale.END)
        try:
            queries = search_scale.queries()
            stories, articles = sample_ids(path, 20)
            urls = {
                "/": ["/", "/?since=7d", "/?since=30d"],  # the day's news, a week's, a month's
                "/search": [search_url(text, options) for text, options in queries]
                + ["/search?q=Japan&page=5"],
                "/stories/<id>": [f"/stories/{i}" for i in stories],
                "/articles/<id>": [f"/articles/{i}" for i in articles],
                "/sources": ["/sources"],
                "/trends": ["/trends"],
            }
            figures: dict = {"articles": SIZE, "repeat": repeat, "pages": {}}
            if built is not None:
                figures["build_s"] = round(built, 1)
            for page, asked in urls.items():
                cold, _ = timed(client, asked[0])  # the first since start: caches empty
                times, sizes = [], []
                for _ in range(max(repeat, -(-least // len(asked)))):
                    for url in asked:
                        seconds, size = timed(client, url)
                        times.append(seconds)
                        sizes.append(size)
                figures["pages"][page] = {**search_scale._percentiles(times),
                                          "cold_ms": round(cold * 1000, 2),
                                          "requests": len(times), "max_bytes": max(sizes),
                                          "largest": asked[sizes.index(max(sizes)) % len(asked)]}
            figures["search"] = search_p95(app.archive, queries, repeat)
        finally:
            app.archive.close()
    base = figures["search"]["p95_ms"]
    for page, f in figures["pages"].items():
        f["ratio_p95"] = round(f["p95_ms"] / max(base, 1e-3), 1)
        print(f"{page:>15}: p50/p95/max {f['p50_ms']}/{f['p95_ms']}/{f['max_ms']} ms "
              f"({f['ratio_p95']}x search p95 {base} ms), cold {f['cold_ms']} ms, "
              f"largest HTML {f['max_bytes'] / 1000:.1f} KB ({f['largest']})", flush=True)
    return figures


def search_p95(archive, queries: list[tuple[str, dict]], repeat: int) -> dict:
    """`Archive.search` over the same queries on the same archive: the same-run baseline."""
    for text, options in queries:
        archive.search(text, **options)
    times = []
    for _ in range(repeat):
        for text, options in queries:
            started = time.perf_counter()
            archive.search(text, **options)
            times.append(time.perf_counter() - started)
    return search_scale._percentiles(times)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    print(json.dumps(measure(parser.parse_args().quick), indent=1, ensure_ascii=False))
