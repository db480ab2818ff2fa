"""Hostile pages cost only themselves: a page too big to extract is marked without minutes of
CPU, a page that takes too long is stopped with its worker, and the pages queued behind them are
neither charged for the wait nor marked for good."""

from __future__ import annotations

from email.utils import format_datetime
from html import escape

import pytest
from conftest import FIXED_NOW, write_config
from newsite import MANIFEST, query
from sitesrv import Reply

NORMAL = [a for a in MANIFEST["articles"] if a.get("kind") == "article"][:10]
# one short paragraph repeated 230,000 times: 8.7 MB that trafilatura needs minutes for
HOSTILE = (b"<html><head><title>Spam</title></head><body><article>"
           + b"<p>Filler text of a page that repeats.</p>\n" * 230_000 + b"</article></body></html>")


def rss(site, paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Item {i}</title><link>{escape(site.url(p))}</link>"
        f"<guid>{escape(site.url(p))}</guid>"
        f"<pubDate>{format_datetime(FIXED_NOW.replace(hour=i % 12))}</pubDate>"
        f"<description>Summary {i}</description></item>" for i, p in enumerate(paths))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Mixed</title>'
            f"<link>{site.base}</link><description>d</description>{items}</channel></rss>").encode()


def serve(site) -> None:
    for page in NORMAL:
        charset = "" if page["encoding"] != "utf-8" else "; charset=utf-8"
        site.serve_fixture(page["path"], page["path"].lstrip("/"), "text/html" + charset)
    for name in ("/hostile-1.html", "/hostile-2.html"):
        site.route(name, Reply(body=HOSTILE, headers={"Content-Type": "text/html"}))
    paths = ["/hostile-1.html", "/hostile-2.html"] + [a["path"] for a in NORMAL]
    site.route("/feed.xml", Reply(body=rss(site, paths), headers={
        "Content-Type": "application/rss+xml"}))


def statuses(config) -> dict[str, tuple[str, str]]:
    rows = query(config, "SELECT url, extraction_status, state FROM articles "
                         "WHERE source_id = 'mixed'")
    return {url.rsplit("/", 1)[1]: (status, state) for url, status, state in rows}


@pytest.mark.parametrize("extract", [
    # the element budget: both pages are too large before any parsing
    "",
    # no budget to speak of, a short time limit: both pages are stopped mid-extraction, with
    # both workers busy on them while the ten normal pages wait in the queue
    "max_elements = 100000000\ntimeout_seconds = 4\n",
], ids=["element-budget", "time-limit"])
def test_two_hostile_pages_cost_the_ten_normal_ones_nothing(site, tmp_path, cli, extract):
    serve(site)
    config = write_config(tmp_path, [{"id": "mixed", "name": "Mixed", "url": site.url("/feed.xml"),
                                      "prefilter": False}])
    config.write_text(config.read_text().replace("[extract]\n", "[extract]\n" + extract))

    code, out, err = cli("--config", str(config), "poll")
    assert code == 0, err
    assert "Traceback" not in err
    found = statuses(config)
    assert found["hostile-1.html"] == ("too_large", "done")
    assert found["hostile-2.html"] == ("too_large", "done")
    normal = {p["path"].rsplit("/", 1)[1] for p in NORMAL}
    assert {name: found[name] for name in normal} == {name: ("full", "done") for name in normal}
    notes = query(config, "SELECT extraction_note FROM articles WHERE url LIKE '%hostile-1.html'")
    assert ("elements" if not extract else "of extraction") in (notes[0][0] or "")
