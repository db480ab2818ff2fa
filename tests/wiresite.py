"""A news site of several static feeds with a few hundred article pages, for several workers at
once: every page is distinct (tests/livesite.py's articles, or real pages of the extraction
bench), each feed's items were published in the last hours (fresh enough to alert), and the
site counts each page's requests, so a test can say which pages were fetched more than once."""

from __future__ import annotations

import gzip
import json
import random
import threading
from collections import Counter
from email.utils import formatdate
from html import escape
from pathlib import Path

from livesite import FILLER
from sitesrv import Reply, Seen, Site

TOWNS = ["Riverside", "Maple Grove", "Cedar Falls", "Oakdale", "Pinehurst", "Brookfield",
         "Fairview", "Lakewood", "Hillcrest", "Stonebridge"]
LOCAL = ["library extends weekend hours", "council debates parking rules",
         "school choir wins regional contest", "bakery celebrates fifty years",
         "marathon closes downtown streets", "zoo welcomes twin otters",
         "farmers market moves indoors", "bridge repairs finish early"]


class WireSite:
    """`feeds` feeds of `per_feed` items each at /wire/<feed>.xml, their pages at
    /wire/<feed>/<k>.html: the (title, text) `reports` dealt round the feeds (the first report
    in the first feed, the second in the second...), every other item local news nobody is
    alerted to, or one of the real pages `bodies`."""

    def __init__(self, site: Site, feeds: int, per_feed: int, *, published: float,
                 reports: list[tuple[str, str]] = (), page_delay: float = 0.0,
                 bodies: list[tuple[str, bytes]] | None = None) -> None:
        self.site = site
        self.page_delay = page_delay  # seconds a page takes to answer (keeps pages in flight)
        self.names = [f"wire{n}" for n in range(feeds)]
        self.page_hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.pages: dict[str, list[str]] = {}  # feed -> its page paths
        self.report_paths: list[str] = []  # the page of each report, in order
        dealt: dict[tuple[int, int], int] = {}  # (feed, item) -> report
        spacing = max(1, per_feed * feeds // max(1, len(reports)))
        for r in range(len(reports)):
            dealt[(r % feeds, (r // feeds) * spacing % per_feed)] = r
        assert len(dealt) == len(reports), "more reports than items"
        bodies = list(bodies or [])
        for n, name in enumerate(self.names):
            items, paths = [], []
            for k in range(per_feed):
                path = f"/wire/{name}/{k}.html"
                if (n, k) in dealt:
                    head, text = reports[dealt[(n, k)]]
                    body = report_html(head, text)
                elif bodies:
                    head, body = bodies[(n * per_feed + k) % len(bodies)]
                else:
                    head, body = local_news(name, k)
                site.route(path, self._page(path, body))
                paths.append(path)
                at = formatdate(published - 60 * (k + 1 + n), usegmt=True)
                items.append(f"<item><title>{escape(head)}</title><link>{site.url(path)}</link>"
                             f"<guid>{name}-{k}</guid><pubDate>{at}</pubDate></item>")
            feed = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>'
                    f"Wire {name}</title><link>{site.base}</link>{''.join(items)}</channel></rss>")
            site.route(f"/wire/{name}.xml", Reply(body=feed.encode(), headers={
                "Content-Type": "application/rss+xml", "ETag": f'"{name}-1"'}))
            self.pages[name] = paths
        self.report_paths = [f"/wire/{self.names[n]}/{k}.html"
                             for (n, k), _ in sorted(dealt.items(), key=lambda kv: kv[1])]

    def sources(self) -> list[dict]:
        return [{"id": name, "name": f"Wire {name}", "url": self.site.url(f"/wire/{name}.xml")}
                for name in self.names]

    def page_paths(self) -> list[str]:
        return [p for paths in self.pages.values() for p in paths]

    def url(self, path: str) -> str:
        return self.site.url(path)

    def hits(self) -> Counter[str]:
        with self._lock:
            return Counter(self.page_hits)

    def _page(self, path: str, body: bytes):
        def reply(seen: Seen) -> Reply:
            with self._lock:
                self.page_hits[path] += 1
            return Reply(body=body, delay=self.page_delay,
                         headers={"Content-Type": "text/html; charset=utf-8"})
        return reply


def local_news(name: str, k: int) -> tuple[str, bytes]:
    """A local story (no country, no technology): archived, relevant to nobody."""
    rng = random.Random(f"local/{name}/{k}")
    head = f"{rng.choice(TOWNS)} {rng.choice(LOCAL)} ({name} #{k})"
    sentences = [" ".join(rng.choice(FILLER) for _ in range(12)).capitalize() for _ in range(12)]
    return head, report_html(head, ". ".join(sentences))


def report_html(head: str, text: str) -> bytes:
    paragraphs = "".join(f"<p>{escape(s.strip())}.</p>" for s in text.split(". ") if s.strip())
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(head)}"
            f"</title></head><body><nav><a href='/'>Home</a></nav><article><h1>{escape(head)}"
            f"</h1>{paragraphs}</article><footer>Copyright</footer></body></html>").encode()


def bench_bodies(bench_dir: Path, count: int) -> list[tuple[str, bytes]]:
    """(title, page) of the extraction bench's real pages, read in place."""
    truth = json.loads((bench_dir / "ground-truth.json").read_text(encoding="utf-8"))
    return [(truth[pid]["articleBody"].split("\n")[0][:90] or pid,
             gzip.decompress((bench_dir / "html" / f"{pid}.html.gz").read_bytes()))
            for pid in sorted(truth)[:count]]
