"""Start-up of the `techwatch` command: `--help`, `search WORDS` and `classify` of one text, each
run as a fresh process of the installed script, as a ratio to `python -c pass` measured in the
same run (`python -c "import sqlalchemy"` beside it, for information: search cannot do without it).

The archive searched is made once in a temporary directory by the product itself: a `techwatch
poll` of feeds served on 127.0.0.1 whose items carry real article texts of the corpus (labeled
set and extraction benchmark), summary-only sources so no page is extracted.

    python benchmarks/startup.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import CORPUS, write_config  # noqa: E402
from sitesrv import Reply, Site  # noqa: E402

TECHWATCH = Path(sys.executable).with_name("techwatch")
QUERIES = ("semiconductor Japan", "quantum computing", "Rapidus", "AI partnership",
           "chip export controls", "battery", "space cooperation", "Toyota OR Honda",
           "data center -Microsoft", "半導体")
FEEDS = 6  # outlets: copies of one text in several feeds become stories of several outlets


def corpus_texts() -> list[tuple[str, str]]:
    """(title, text) of the corpus's real articles, read in place."""
    texts = []
    labeled = CORPUS / "labeled" / "dev.jsonl"
    for line in labeled.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("title") and item.get("text"):
            texts.append((item["title"], item["text"]))
    truth = json.loads((CORPUS / "extraction-bench" / "ground-truth.json").read_text("utf-8"))
    for page in truth.values():
        body = page.get("articleBody") or ""
        if len(body) > 200:
            texts.append((body.split("\n")[0][:90], body))
    return texts


def serve_feeds(site: Site, articles: int) -> list[dict]:
    """`articles` items over FEEDS feeds: the corpus's texts, each paragraph window a new
    article, every text in two feeds a few hours apart (a story with another outlet)."""
    texts = corpus_texts()
    start = datetime(2026, 11, 21, tzinfo=UTC)
    items: list[list[str]] = [[] for _ in range(FEEDS)]
    for i in range(articles // 2):
        title, text = texts[i % len(texts)]
        paragraphs = [p for p in text.split("\n") if p.strip()]
        shift = (i // len(texts)) % max(len(paragraphs), 1)
        body = "\n".join(paragraphs[shift:] + paragraphs[:shift])[:3000]
        variant = f"{title} ({i // len(texts) + 1})" if i >= len(texts) else title
        for copy in range(2):
            feed = (i + copy * 3) % FEEDS
            date = format_datetime(start - timedelta(hours=i % 2000, minutes=copy * 40))
            link = f"http://127.0.0.1/{feed}/{i}.html"
            items[feed].append(f"<item><title>{escape(variant)}</title><link>{link}</link>"
                               f"<guid>{link}</guid><pubDate>{date}</pubDate>"
                               f"<description>{escape(body)}</description></item>")
    sources = []
    for feed, entries in enumerate(items):
        rss = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet '
               f"{feed}</title>" + "".join(entries) + "</channel></rss>").encode()
        site.route(f"/feed{feed}.xml", Reply(body=rss, headers={
            "Content-Type": "application/rss+xml"}))
        sources.append({"id": f"outlet{feed}", "name": f"Outlet {feed}",
                        "url": site.url(f"/feed{feed}.xml"), "fetch_fulltext": False})
    return sources


def build_archive(directory: Path, articles: int) -> tuple[Path, float]:
    """A config and its archive of about `articles` articles; the seconds it took."""
    from bot.cli import main

    site = Site().start()
    try:
        sources = serve_feeds(site, articles)
        config = write_config(directory, sources, extra=(
            f"[poll]\nmax_items_per_poll = {articles}\n"))
        started = time.perf_counter()
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            code = main(["--config", str(config), "-q", "poll"])
        if code != 0:
            raise RuntimeError(f"techwatch poll failed ({code})")
        return config, time.perf_counter() - started
    finally:
        site.stop()


def seconds(command: list[str], env: dict[str, str], stdin: bytes | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, input=stdin, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(quick: bool, keep: Path | None = None) -> dict:
    """p50/p95 seconds of each command and their ratios to `python -c pass` of the same run.
    `keep`: the archive is made there once and reused by later runs (made again if absent)."""
    if not (CORPUS / "labeled" / "dev.jsonl").exists():
        raise SystemExit(f"corpus not found at {CORPUS} (set TECHWATCH_SHARED)")
    runs = 10 if quick else 20
    articles = 1000 if quick else 3000
    # bytecode cached, as `pip install .` leaves it (with PYTHONDONTWRITEBYTECODE, an editable
    # install compiles every module of the project at every start)
    env = {k: v for k, v in os.environ.items()
           if k not in ("TECHWATCH_CONFIG", "TECHWATCH_DATABASE_URL", "SLACK_BOT_TOKEN",
                        "SLACK_APP_TOKEN", "PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE")}
    with tempfile.TemporaryDirectory() as tmp:
        if keep is not None and (keep / "techwatch.db").exists():
            config, build_seconds = keep / "techwatch.toml", 0.0
        else:
            config, build_seconds = build_archive(keep or Path(tmp), articles)
        archived = subprocess.run(
            [sys.executable, "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1])"
             ".execute('SELECT count(*) FROM articles').fetchone()[0])",
             str(config.parent / "techwatch.db")], capture_output=True, text=True, check=True)
        one_text = json.dumps({"id": "1", "title": "Japan and US deepen chip cooperation",
                               "text": "Rapidus and IBM will co-develop 2nm semiconductors.",
                               "lang": "en"}).encode() + b"\n"
        techwatch = [str(TECHWATCH), "--config", str(config)]
        commands = {  # name: (arguments of run i, standard input)
            "baseline python -c pass": (lambda i: [sys.executable, "-c", "pass"], None),
            "python -c 'import sqlalchemy' (information)": (
                lambda i: [sys.executable, "-c", "import sqlalchemy"], None),
            "techwatch --help": (lambda i: [str(TECHWATCH), "--help"], None),
            "techwatch search WORDS": (  # varied queries
                lambda i: [*techwatch, "search", "--", *QUERIES[i % len(QUERIES)].split()], None),
            "techwatch classify (one text)": (lambda i: [*techwatch, "classify"], one_text),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for i in range(-1, runs):  # interleaved (the machine's load varies); run -1 not counted:
            for name, (arguments, stdin) in commands.items():  # it writes the bytecode cache
                took = seconds(arguments(i), env, stdin)
                if i >= 0:
                    times[name].append(took)
    base = statistics.median(times["baseline python -c pass"])
    figures: dict = {"runs": runs, "bytecode": "cached", "archived_articles": int(archived.stdout),
                     "archive_build_seconds": round(build_seconds, 1), "commands": {}}
    for name, runs_seconds in times.items():
        p50, p95 = statistics.median(runs_seconds), _percentile(runs_seconds, 0.95)
        figures["commands"][name] = {"p50_seconds": round(p50, 4), "p95_seconds": round(p95, 4),
                                     "p50_ratio": round(p50 / base, 1),
                                     "p95_ratio": round(p95 / base, 1)}
    return figures


def print_figures(figures: dict) -> None:
    print(f"archive: {figures['archived_articles']} articles, built by `techwatch poll` in "
          f"{figures['archive_build_seconds']} s (0: reused); {figures['runs']} runs each")
    print(f"{'command':45} {'p50 s':>8} {'p95 s':>8} {'p50 x':>7} {'p95 x':>7}")
    for name, f in figures["commands"].items():
        print(f"{name:45} {f['p50_seconds']:8.3f} {f['p95_seconds']:8.3f} "
              f"{f['p50_ratio']:7.1f} {f['p95_ratio']:7.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 articles, 10 runs")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="make the archive in DIR once and reuse it in later runs")
    args = parser.parse_args()
    print_figures(measure(args.quick, args.keep))
