"""Memory while 5,000 articles are ingested in one run: `techwatch run --once` in its own process
against a loopback site of 5,000 small article pages (built from the corpus's real texts, read in
place: the labeled set and the extraction-bench ground truth) behind 50 feeds, with
`[poll] max_items_per_poll` raised so that one cycle takes everything and per-host politeness off.

Figures: peak RSS of the whole process tree (sampled every 20 ms from /proc, as
benchmarks/ingest.py does) up to the moment the 1,000th article is archived and over the whole
run, and their ratio (flat memory: about 1); articles/s and the time as a ratio to bare
`trafilatura.extract` of the same pages in this process. Then a second cycle where every feed
answers 304: its time and CPU, and a check that it parsed, extracted and wrote nothing beyond
source state: the server saw only feed requests, all answered 304; every new fetch-log row is a
feed's "not modified"; every other table's row count and the articles' (id, state, story, text
length) digest are unchanged (the digest stage of `run --once`, which records a terminal digest,
is reported apart).

    python benchmarks/ingest_5k.py [--quick]       # --quick: 1,500 articles
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from conftest import CORPUS, write_config  # noqa: E402
from ingest import TreeWatch, run_once  # noqa: E402
from sitesrv import Reply, Site  # noqa: E402

FEEDS = 50
CONCURRENCY = 16
MARK = 1000  # the peak RSS is reported up to this many articles archived, and at the end


def corpus_texts() -> list[tuple[str, list[str]]]:
    """(title, paragraphs) of the corpus's real English and Japanese articles."""
    texts = []
    for line in (CORPUS / "labeled" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        paragraphs = [p for p in (item.get("text") or "").split("\n") if p.strip()]
        if item.get("title") and paragraphs:
            texts.append((item["title"], paragraphs))
    truth = json.loads((CORPUS / "extraction-bench" / "ground-truth.json").read_text("utf-8"))
    for pid in sorted(truth):
        paragraphs = [p for p in (truth[pid].get("articleBody") or "").split("\n") if p.strip()]
        if sum(map(len, paragraphs)) > 300:
            texts.append((paragraphs[0][:90], paragraphs))
    return texts


def page(i: int, title: str, paragraphs: list[str], other: list[str], published: datetime) -> bytes:
    """A small news page: header, navigation, the article (rotated paragraphs and a paragraph of
    another text, so no two pages are alike), related links and a footer."""
    shift = i % len(paragraphs)
    body = paragraphs[shift:] + paragraphs[:shift]
    body.insert(len(body) // 2, other[i % len(other)])
    related = "".join(f'<li><a href="/a/{(i + k) % 5000}.html">Related story {k}</a></li>'
                      for k in range(1, 6))
    stamp = published.isoformat()
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} '
            f'| Outlet {i % FEEDS}</title><meta property="og:title" content="{escape(title)}">'
            f'<meta property="article:published_time" content="{stamp}"></head><body>'
            '<header><a href="/">Outlet</a><nav><a href="/tech">Tech</a> <a href="/biz">'
            'Business</a> <a href="/world">World</a></nav></header><main><article>'
            f'<h1>{escape(title)}</h1><p class="byline">By Staff <time datetime="{stamp}">'
            f'{published:%B %d, %Y}</time></p>'
            + "".join(f"<p>{escape(p)}</p>" for p in body)
            + f'</article><aside><h2>Related</h2><ul>{related}</ul></aside></main><footer>'
            '<p>&copy; 2026 Outlet. All rights reserved.</p></footer></body></html>').encode()


def serve(site: Site, count: int) -> list[bytes]:
    texts = corpus_texts()
    start = datetime(2026, 11, 21, 12, tzinfo=UTC)
    items: list[list[str]] = [[] for _ in range(FEEDS)]
    pages = []
    for i in range(count):
        title, paragraphs = texts[i % len(texts)]
        other = texts[(i * 7 + 3) % len(texts)][1]
        published = start - timedelta(minutes=i)
        html = page(i, f"{title} ({i // len(texts) + 1})" if i >= len(texts) else title,
                    paragraphs, other, published)
        pages.append(html)
        path = f"/a/{i}.html"
        site.route(path, Reply(body=html, headers={"Content-Type": "text/html; charset=utf-8"}))
        link = site.url(path)
        items[i % FEEDS].append(f"<item><title>{escape(title)}</title><link>{link}</link>"
                                f"<guid>{link}</guid><pubDate>{format_datetime(published)}"
                                "</pubDate></item>")
    for feed, entries in enumerate(items):
        rss = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet '
               f"{feed}</title>" + "".join(entries) + "</channel></rss>").encode()
        site.route(f"/feed{feed}.xml", Reply(body=rss, headers={
            "Content-Type": "application/rss+xml", "ETag": f'"feed-{feed}"'}))
    return pages


class Timeline(TreeWatch):
    """TreeWatch that also keeps (time, RSS of the tree) of every sample."""

    def __init__(self, pid: int) -> None:
        self.samples: list[tuple[float, int]] = []
        super().__init__(pid)

    def _watch(self) -> None:  # TreeWatch's loop, one sample at a time
        from ingest import PAGE_SIZE, TICKS, _descendants

        while Path(f"/proc/{self.pid}").exists():
            tree = _descendants(self.pid)
            self.processes = max(self.processes, len(tree))
            rss = 0
            for pid in tree:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    rss += int(stat[21]) * PAGE_SIZE
                    self.cpu[pid] = (int(stat[11]) + int(stat[12])) / TICKS
            self.samples.append((time.perf_counter(), rss))
            self.peak_rss = max(self.peak_rss, rss)
            time.sleep(0.02)


def archived(db_path: Path) -> int | None:
    with contextlib.suppress(sqlite3.Error), \
            contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True,
                                               timeout=0.2)) as db:
        return db.execute("SELECT count(*) FROM articles WHERE state = 'done' "
                          "AND source_id LIKE 'outlet%'").fetchone()[0]
    return None


def first_run(config: Path) -> dict:
    """`run --once`, sampling the tree's RSS and, every 0.25 s, the articles archived."""
    db_path = config.parent / "techwatch.db"
    command = [sys.executable, "-m", "bot", "--config", str(config), "-q", "run", "--once"]
    with tempfile.TemporaryFile() as errors:  # a pipe left unread could fill, block the run
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        watch = Timeline(process.pid)
        progress: list[tuple[float, int]] = []
        while process.poll() is None:
            time.sleep(0.25)
            if db_path.exists() and (n := archived(db_path)) is not None:
                progress.append((time.perf_counter(), n))
        seconds = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read()
    watch.join()
    if process.returncode != 0:
        raise RuntimeError(f"techwatch run --once failed ({process.returncode}): "
                           f"{stderr.decode()[-1500:]}")
    at_mark = next((t for t, n in progress if n >= MARK), None)
    peak_mark = max((rss for t, rss in watch.samples if at_mark is None or t <= at_mark),
                    default=0)
    return {"seconds": round(seconds, 2), "cpu_seconds": round(sum(watch.cpu.values()), 1),
            "processes": watch.processes, "mark_reached_s": at_mark and round(at_mark - started, 1),
            "peak_rss_mb_at_1k": round(peak_mark / 2**20, 1),
            "peak_rss_mb": round(watch.peak_rss / 2**20, 1)}


def state_digest(db_path: Path) -> dict:
    """Row counts of every table but source state and the fetch log, and a digest of the
    articles' (id, state, story, text length)."""
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT IN ('sources', 'fetch_log')")]
        counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        rows = db.execute("SELECT id, state, story_id, length(text) FROM articles ORDER BY id")
        digest = hashlib.sha256(repr(rows.fetchall()).encode()).hexdigest()
        log = db.execute("SELECT max(id) FROM fetch_log").fetchone()[0] or 0
    return {"counts": counts, "articles": digest, "fetch_log_max": log}


def new_log_rows(db_path: Path, after: int) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        return db.execute("SELECT kind, outcome FROM fetch_log WHERE id > ?", (after,)).fetchall()


def baseline_seconds(pages: list[bytes], sample: int = 400) -> float:
    """Bare single-process `trafilatura.extract` of the pages (every nth, scaled to all)."""
    import trafilatura

    step = max(1, len(pages) // sample)
    chosen = pages[::step]
    trafilatura.extract(chosen[0])
    started = time.perf_counter()
    for html in chosen:
        trafilatura.extract(html)
    return (time.perf_counter() - started) * len(pages) / len(chosen)


def measure(quick: bool = False) -> dict:
    if not (CORPUS / "labeled" / "dev.jsonl").exists():
        return {"skipped": f"corpus not found at {CORPUS} (set TECHWATCH_SHARED)"}
    count = 1500 if quick else 5000
    site = Site().start()
    try:
        pages = serve(site, count)
        sources = [{"id": f"outlet{f}", "name": f"Outlet {f}", "url": site.url(f"/feed{f}.xml")}
                   for f in range(FEEDS)]
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), sources,
                                  extra=f"[poll]\nmax_items_per_poll = {count}\n")
            config.write_text(config.read_text().replace(
                "per_host_concurrency = 4", f"per_host_concurrency = {CONCURRENCY}\n"
                f"concurrency = {CONCURRENCY}"))
            db_path = Path(tmp) / "techwatch.db"
            first = first_run(config)
            done = archived(db_path)
            before = state_digest(db_path)
            requests = len(site.requests)
            second = run_once(config, site, Path(tmp) / "probe.json")
            after = state_digest(db_path)
            seen = site.requests[requests:]
            log = new_log_rows(db_path, before["fetch_log_max"])
    finally:
        site.stop()
    base = baseline_seconds(pages)
    only_feeds_304 = all(r.path.startswith("/feed") and r.status == 304 for r in seen)
    log_only_not_modified = bool(log) and all(row == ("feed", "not modified") for row in log)
    # `run --once` ends with its digest stage: a terminal digest is recorded (digests), which is
    # not the poll's work; reported apart
    digest = {t: after["counts"].get(t, 0) - before["counts"].get(t, 0)
              for t in ("digests", "digest_items")}
    changed = [t for t in after["counts"] if t not in digest and
               before["counts"].get(t) != after["counts"][t]]
    changed += ["articles (id, state, story, text length)"] * (before["articles"] !=
                                                               after["articles"])
    unchanged = not changed
    return {
        "pages": count, "archived": done, "baseline_seconds": round(base, 2),
        "first": first, "articles_per_second": round((done or 0) / first["seconds"], 1),
        "ratio": round(first["seconds"] / base, 2),
        "rss_ratio_end_to_1k": round(first["peak_rss_mb"] / max(first["peak_rss_mb_at_1k"], 1),
                                     2),
        "second": {"seconds": round(second["seconds"], 2),
                   "cpu_seconds": round(second["cpu_seconds"], 2),
                   "requests": second["requests"], "not_modified": second["not_modified"],
                   "peak_rss_mb": round(second["peak_rss_mb"], 1),
                   "longest_stall_ms": round(second["longest_stall_ms"], 1),
                   "fetch_log_rows": len(log)},
        "second_check": {"only_feed_requests_all_304": only_feeds_304,
                         "fetch_log_only_feed_not_modified": log_only_not_modified,
                         "other_tables_unchanged": unchanged,
                         "changed": changed,
                         "digest_stage_rows": digest,
                         "ok": only_feeds_304 and log_only_not_modified and unchanged},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,500 articles")
    print(json.dumps(measure(parser.parse_args().quick), indent=2))
