"""`techwatch run` for N minutes against a local site whose feeds publish at different rates,
with the Slack stand-in: prints the interval each source settled on, its polls against what a
fixed poller at the minimum interval would have made (the baseline of this run), the Slack
traffic, and the daemon's /metrics.

    python benchmarks/daemon_soak.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx  # noqa: E402
from livesite import LiveFeed, LiveNews, free_port, live_config  # noqa: E402
from newsite import query  # noqa: E402
from sitesrv import Site  # noqa: E402
from slackstub import TOKEN, SlackStub  # noqa: E402

MIN_MINUTES, MAX_MINUTES = 0.25, 5.0
FEEDS = [LiveFeed("wire", 20), LiveFeed("outlet", 90), LiveFeed("ministry", 300),
         LiveFeed("archive", 0), LiveFeed("flaky", 120, fail_polls=3)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    minutes = parser.parse_args().minutes
    site, slack = Site().start(), SlackStub(channels=("C0DIGEST", "C0ALERTS", "C0OPS"))
    live = LiveNews(site, FEEDS)
    port = free_port()
    digest_at = datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(minutes=minutes / 2)
    with tempfile.TemporaryDirectory() as tmp:
        config = live_config(Path(tmp), live, health_port=port,
                             digest_at=f"{digest_at:%H:%M:%S}",
                             poll=(1, MIN_MINUTES, MAX_MINUTES, 2))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": TOKEN,
               "SLACK_API_URL": slack.url}
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "-q",
                                    "run"], env=env)
        time.sleep(minutes * 60)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        healthz = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        elapsed = time.monotonic() - started
        rows = query(config, "SELECT id, interval_minutes, consecutive_errors, last_status "
                             "FROM sources WHERE id != 'seed' ORDER BY id")
        articles = query(config, "SELECT count(*), sum(relevant) FROM articles "
                                 "WHERE source_id != 'seed'")[0]
    fixed = elapsed / (MIN_MINUTES * 60)
    print(f"ran {elapsed / 60:.1f} min; exit {process.returncode}; /healthz {healthz.status_code}")
    print(f"{'source':10} {'publishes':>10} {'interval':>9} {'polls':>6} {'vs fixed':>9}  status")
    for source_id, interval, errors, status in rows:
        feed = live.feeds[source_id]
        every = f"{feed.period:g} s" if feed.period else "never"
        print(f"{source_id:10} {every:>10} {(interval or 0) * 60:>7.0f} s {feed.polls:>6} "
              f"{feed.polls / fixed:>9.2f}  {status} ({errors} errors in a row)")
    print(f"polls in all: {sum(f.polls for f in FEEDS)}, a fixed {MIN_MINUTES * 60:g}-s poller: "
          f"{fixed * len(FEEDS):.0f} (ratio {sum(f.polls for f in FEEDS) / (fixed * len(FEEDS)):.2f})")
    print(f"articles archived: {articles[0]} ({articles[1]} relevant); published by the site: "
          f"{len(live.article_urls())}")
    print(f"slack: {len(slack.posts('C0ALERTS'))} alert messages, "
          f"{len(slack.posts('C0DIGEST'))} digest messages, ops: "
          + " | ".join(p["text"] for p in slack.posts("C0OPS")) + f"; refused calls: {slack.refused()}")
    print("\n/metrics (techwatch_*):")
    print("\n".join(line for line in metrics.splitlines() if line.startswith("techwatch_")
                    and not line.startswith("techwatch_polls_created")
                    and "_created" not in line))
    slack.stop()
    site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
