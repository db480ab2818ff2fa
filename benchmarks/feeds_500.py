"""500 feeds that each answer after 200 ms (a delayed reply, no CPU) on loopback, polled by
`techwatch poll` in its own process with per-host politeness off, against the ideal for the
concurrency settings: ceil(500 / fetch.concurrency) * 0.2 s.

Each feed is tiny (one summary-only item, so no page is fetched) and carries an ETag. The first
poll takes and archives the 500 items; the second gets 500 delayed 304s, so it measures the
fetching alone. The main figure is the second poll's fetch span: from the server's first feed
request to its last reply (the server's clock, start-up excluded), as a ratio to the ideal; the
whole command (start-up included) is beside it.

    python benchmarks/feeds_500.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import write_config  # noqa: E402
from newsite import query  # noqa: E402
from sitesrv import Reply, Site  # noqa: E402

DELAY = 0.2
CONCURRENCY = 16  # FetchSettings' default, written explicitly


def feed(i: int) -> bytes:
    link = f"http://127.0.0.1/feed{i}/item.html"
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {i}</title><item><title>Item of feed {i}: quantum chips</title>"
            f"<link>{link}</link><guid>{link}</guid>"
            "<pubDate>Sat, 21 Nov 2026 10:00:00 GMT</pubDate>"
            f"<description>Feed {i} reports on semiconductor research cooperation.</description>"
            "</item></channel></rss>").encode()


def poll(config: Path, site: Site) -> dict:
    before = len(site.requests)
    command = [sys.executable, "-m", "bot", "--config", str(config), "-q", "poll"]
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"techwatch poll failed ({done.returncode}): "
                           f"{done.stderr.decode()[-1500:]}")
    new = [r for r in site.requests[before:] if r.path.startswith("/feed")]
    span = max(r.at for r in new) + DELAY - min(r.at for r in new) if new else 0.0
    return {"seconds": round(seconds, 3), "feed_requests": len(new),
            "not_modified": sum(r.status == 304 for r in new), "fetch_span_s": round(span, 3)}


def measure(quick: bool = False) -> dict:
    feeds = 500  # the figure asked for; quick changes nothing (the run is ~10 s)
    site = Site().start()
    try:
        sources = []
        for i in range(feeds):
            site.route(f"/feed{i}.xml", Reply(body=feed(i), delay=DELAY, headers={
                "Content-Type": "application/rss+xml", "ETag": f'"feed-{i}"'}))
            sources.append({"id": f"feed{i}", "name": f"Feed {i}",
                            "url": site.url(f"/feed{i}.xml"), "fetch_fulltext": False})
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), sources)
            # politeness off: every feed is on 127.0.0.1, so per-host limits = the global one
            config.write_text(config.read_text().replace(
                "per_host_concurrency = 4", f"per_host_concurrency = {CONCURRENCY}\n"
                f"concurrency = {CONCURRENCY}"))
            first = poll(config, site)
            second = poll(config, site)
            archived = query(config, "SELECT count(*) FROM articles WHERE source_id LIKE "
                                     "'feed%'")[0][0]
    finally:
        site.stop()
    ideal = math.ceil(feeds / CONCURRENCY) * DELAY
    return {"feeds": feeds, "delay_s": DELAY, "concurrency": CONCURRENCY, "ideal_s": ideal,
            "archived": archived, "first": first, "second": second,
            "ratio": round(second["fetch_span_s"] / ideal, 2),
            "command_ratio": round(second["seconds"] / ideal, 2),
            "first_ratio": round(first["fetch_span_s"] / ideal, 2),
            "note": "second poll: 500 delayed 304s; span from the server's "
                                    "first request to its last reply"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    print(json.dumps(measure(parser.parse_args().quick), indent=2))
