"""A news site that keeps publishing in real time, for the daemon: each feed gets a new item
every `period` seconds, and each item's page is a distinct article about US–Japan technology
cooperation (different stories: no two share a passage long enough to look like a copy)."""

from __future__ import annotations

import hashlib
import random
import socket
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from html import escape
from pathlib import Path

from conftest import write_config
from sitesrv import Reply, Seen, Site

US = ["Arcadia Micro", "Boston Quantum Labs", "Redwood Orbital", "Summit Grid", "Lakeview AI",
      "Cascade Photonics", "Granite Fusion", "Harbor Biologics"]
JAPAN = ["Hoshikawa Foundry", "Sakura Telecom", "Kitami Materials", "Nagoya Fusion Works",
         "Aoba Space", "Tsukuba Quantum", "Hokuriku Pharma", "Minato Robotics"]
TECH = ["2nm semiconductor production", "6G radio networks", "quantum computing",
        "fusion energy", "rare earth refining", "lunar exploration", "generative AI safety",
        "battery supply chains"]
FILLER = ("committee", "schedule", "venue", "delegates", "review", "budget", "timeline",
          "partners", "observers", "milestone", "facility", "region", "workforce", "training",
          "campus", "pilot", "report", "audit", "council", "engineers", "municipal", "suppliers",
          "logistics", "agenda", "forum", "briefing", "regional")


@dataclass
class LiveFeed:
    name: str
    period: float  # seconds between two new items; 0: a fixed set of old items
    fail_polls: int = 0  # the first polls answer 500 (a source that fails, then recovers)
    backlog: int = 3  # items published before the site started (they show the feed's rate)
    started: float = field(default_factory=time.time)
    polls: int = 0

    def published(self, now: float, keep: int = 15) -> list[tuple[int, float]]:
        """(item number, publication time) of the items in the feed now, newest first."""
        if not self.period:
            return [(k, self.started - 43200 * (k + 1)) for k in range(5)]  # twice a day
        first = self.started - self.backlog * self.period
        count = int((now - first) // self.period) + 1
        return [(k, first + k * self.period) for k in range(count - 1, -1, -1)][:keep]


class LiveNews:
    def __init__(self, site: Site, feeds: list[LiveFeed], page_delay: float = 0.0) -> None:
        self.site = site
        self.feeds = {f.name: f for f in feeds}
        self.page_delay = page_delay  # seconds an article page takes (to catch a cycle mid-way)
        for feed in feeds:
            site.route(f"/live/{feed.name}.xml", self._feed(feed))
            for k in range(4000):
                site.route(f"/live/{feed.name}/{k}.html", self._page(feed, k))

    def url(self, name: str) -> str:
        return self.site.url(f"/live/{name}.xml")

    def article_urls(self, now: float | None = None) -> set[str]:
        now = now or time.time()
        return {self.site.url(f"/live/{f.name}/{k}.html") for f in self.feeds.values()
                for k, _ in f.published(now, keep=10**6)}

    def _feed(self, feed: LiveFeed):
        def reply(seen: Seen) -> Reply:
            feed.polls += 1
            if feed.polls <= feed.fail_polls:
                return Reply(500, b"<html><body>Internal Server Error</body></html>",
                             {"Content-Type": "text/html"})
            items = "".join(
                f"<item><title>{escape(title(feed.name, k))}</title>"
                f"<link>{self.site.url(f'/live/{feed.name}/{k}.html')}</link>"
                f"<guid>{feed.name}-{k}</guid><pubDate>{formatdate(at, usegmt=True)}</pubDate>"
                "</item>" for k, at in feed.published(time.time()))
            body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                    f"<title>Live {feed.name}</title><link>{self.site.base}</link>{items}"
                    "</channel></rss>").encode()
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            return Reply(body=body, headers={"Content-Type": "application/rss+xml",
                                             "ETag": etag})
        return reply

    def _page(self, feed: LiveFeed, k: int):
        def reply(seen: Seen) -> Reply:
            return Reply(body=article_html(feed.name, k).encode(), delay=self.page_delay,
                         headers={"Content-Type": "text/html; charset=utf-8"})
        return reply


def _pick(name: str, k: int) -> tuple[str, str, str]:
    rng = random.Random(f"{name}/{k}")
    return rng.choice(US), rng.choice(JAPAN), rng.choice(TECH)


def title(name: str, k: int) -> str:
    us, japan, tech = _pick(name, k)
    return f"{us} and {japan} agree US-Japan {tech} partnership ({name} #{k})"


def article_html(name: str, k: int) -> str:
    us, japan, tech = _pick(name, k)
    rng = random.Random(f"filler/{name}/{k}")
    lead = (f"WASHINGTON and TOKYO: {us} and {japan} agreed to jointly develop {tech} under a new "
            f"US-Japan partnership, officials of both governments said. The United States and "
            f"Japan will fund joint research on {tech}, and the two companies plan a shared "
            f"investment in a pilot line, according to the Ministry of Economy, Trade and "
            f"Industry and the US Department of Commerce.")
    filler = [" ".join(rng.choice(FILLER) for _ in range(14)).capitalize() + "."
              for _ in range(16)]
    paragraphs = [lead] + [" ".join(filler[i:i + 4]) for i in range(0, 16, 4)]
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
            f"{escape(title(name, k))}</title></head><body><article><h1>{escape(title(name, k))}"
            f"</h1>{body}</article></body></html>")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live_config(directory: Path, live: LiveNews, *, health_port: int, digest_at: str,
                poll: tuple[float, float, float, float], events_port: int = 0,
                retry_minutes: float = 1) -> Path:
    """A config polling every live feed, with /healthz, an ops channel, a digest in Tokyo at
    `digest_at` and alerts; `poll` is (default, min, max minutes, tick seconds), and a page
    that failed is retried after `retry_minutes` (fetch.article_retry_minutes)."""
    default, low, high, tick = poll
    sources = [{"id": name, "name": f"Live {name}", "url": live.url(name)}
               for name in live.feeds]
    config = write_config(directory, sources, extra=f"""
[poll]
default_poll_minutes = {default}
min_minutes = {low}
max_minutes = {high}
tick_seconds = {tick}
[health]
port = {health_port}
[slack]
alert_max_age_hours = 72
alert_hourly_cap = 1000
ops_channel = "C0OPS"
ops_after_failures = 2
events_port = {events_port}
[[slack.digests]]
channel = "C0DIGEST"
time = "{digest_at}"
timezone = "Asia/Tokyo"
max_stories = 100
[[slack.alerts]]
channel = "C0ALERTS"
min_score = 0.5
""")
    config.write_text(config.read_text().replace(
        "[fetch]\n", f"[fetch]\narticle_retry_minutes = {retry_minutes}\n", 1))
    return config
