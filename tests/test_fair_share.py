"""One huge feed starves nobody: a poll takes a capped share of a feed's new items (newest
first), the rest wait for later polls; a feed first seen with more items than that is a backlog
(archived, not news); and each cycle fetches pages in turns across sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from conftest import FIXED_NOW, write_config
from newsite import MANIFEST, news_sources, query, serve_news_site
from sitesrv import Reply

from bot.cli import main
from bot.models import PendingArticle
from bot.pipeline import fair_share

HUGE = 3_000
SHARE = 40
LEAD = ("Japan and the United States agreed to deepen semiconductor research cooperation, with "
        "Tokyo and Washington funding joint chip development between American and Japanese "
        "companies. ")


def huge_feed(site) -> bytes:
    items = "".join(
        f"<item><title>Archive item {i}</title><link>{site.url(f'/old/{i}.html')}</link>"
        f"<pubDate>{format_datetime(FIXED_NOW - timedelta(minutes=i))}</pubDate>"
        f"<description>{LEAD}Item {i}.</description></item>" for i in range(HUGE))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Dump</title>'
            f"<link>{site.base}</link><description>d</description>{items}</channel></rss>").encode()


def test_a_huge_feed_is_taken_a_share_a_poll_as_a_backlog_and_starves_nobody(site, tmp_path, cli):
    serve_news_site(site)
    site.route("/dump.xml", Reply(body=huge_feed(site), headers={
        "Content-Type": "application/rss+xml", "ETag": '"dump"'}))
    sources = [{"id": "dump", "name": "Dump", "url": site.url("/dump.xml"),
                "fetch_fulltext": False}] + news_sources(site, ["en-rss2.xml"])
    config = write_config(tmp_path, sources, extra=f"[poll]\nmax_items_per_poll = {SHARE}\n")

    code, out, err = cli("--config", str(config), "run", "--once")
    assert code == 0, err
    assert f"{HUGE - SHARE} more left for the next polls: a backlog, not alerted" in err
    rows = query(config, "SELECT title, origin, state FROM articles WHERE source_id = 'dump'")
    assert len(rows) == SHARE
    assert {r[0] for r in rows} == {f"Archive item {i}" for i in range(SHARE)}  # the newest
    assert {(r[1], r[2]) for r in rows} == {("backlog", "done")}
    # the other source's news went through in the same cycle, and the digest is its alone
    rss = [a for a in MANIFEST["articles"] if "en-rss2.xml" in a.get("feeds", [])
           or a["name"] in ("en-01", "en-02")]
    states = query(config, "SELECT state FROM articles WHERE source_id = 'en-rss2'")
    assert states and {s for (s,) in states} == {"done"}
    assert "Archive item" not in out and any(a["title"] in out for a in rss)

    # the next poll reads the whole feed again (no validators kept) and takes the next share
    later = FIXED_NOW + timedelta(hours=1)
    assert main(["--config", str(config), "poll"], now=lambda: later) == 0
    assert "if-none-match" not in site.hits("/dump.xml")[-1].headers
    rows = query(config, "SELECT title, origin FROM articles WHERE source_id = 'dump'")
    assert len(rows) == 2 * SHARE and {r[1] for r in rows} == {"backlog"}
    assert query(config, "SELECT backlog FROM sources WHERE id = 'dump'") == [(1,)]


def pending(source: str, i: int) -> PendingArticle:
    return PendingArticle(id=i, source_id=source, url=f"https://{source}.example/{i}", title="t",
                          summary="", lang="en", feed_published=None,
                          first_seen=datetime(2026, 1, 1, tzinfo=UTC), fetch_fulltext=True)


def test_a_cycle_fetches_pages_in_turns_across_sources_each_up_to_its_share():
    queue = [pending("big", i) for i in range(100)] + [pending("small", 100 + i) for i in range(3)]
    share = fair_share(queue, 10)
    assert [a.source_id for a in share[:6]] == ["big", "small"] * 3
    assert len(share) == 13 and [a.id for a in share if a.source_id == "big"] == list(range(10))
