"""Whether a source may reach private addresses is the source's, decided once and enforced on
every request of every poll: its feed's, each redirect hop's and its articles'."""

from __future__ import annotations

from datetime import timedelta

from conftest import FIXED_NOW, write_config
from newsite import news_sources, query, serve_news_site
from sitesrv import Reply

from bot.cli import main
from bot.models import Source
from bot.store import open_archive


def add_from_slack(config, url: str) -> None:
    """A source as `/techwatch add-source` leaves it (added while private addresses were
    allowed, say)."""
    archive = open_archive(f"sqlite:///{config.parent / 'techwatch.db'}")
    try:
        archive.add_source(Source("wire", url, "Wire", from_slack=True), FIXED_NOW)
    finally:
        archive.close()


def test_a_source_added_from_slack_reaches_private_addresses_only_while_allowed(
        site, tmp_path, cli):
    serve_news_site(site)
    site.route("/wire.xml", site.routes["/feeds/en-atom.xml"])
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]))
    assert cli("--config", str(config), "poll")[0] == 0
    add_from_slack(config, site.url("/wire.xml"))

    code, _, err = cli("--config", str(config), "poll")
    assert code == 0 and "Traceback" not in err
    assert "source wire: fetch: refused: 127.0.0.1 is not a public address" in err
    assert site.hits("/wire.xml") == []  # not even asked
    assert query(config, "SELECT last_status FROM sources WHERE id = 'wire'") == [
        ("error: private_address",)]

    config.write_text(config.read_text() + "\n[slack]\nallow_private_sources = true\n")
    later = FIXED_NOW + timedelta(days=2)  # its back-off has passed
    assert main(["--config", str(config), "poll"], now=lambda: later) == 0
    assert len(site.hits("/wire.xml")) == 1
    assert query(config, "SELECT last_status FROM sources WHERE id = 'wire'") == [("ok",)]


def test_a_feed_that_redirects_to_a_metadata_address_later_is_refused(site, tmp_path, cli):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]))
    assert cli("--config", str(config), "poll")[0] == 0
    before = query(config, "SELECT count(*) FROM articles")[0][0]
    # a day later the (configured, local) feed answers with a redirect to the cloud's metadata
    site.route("/feeds/en-rss2.xml", Reply(302, headers={
        "Location": "http://169.254.169.254/latest/meta-data/iam/"}))
    code, out, err = cli("--config", str(config), "sources", "check")
    assert "link-local or cloud metadata" in " ".join(out.split()), out
    code, out, err = cli("--config", str(config), "poll")
    assert code == 0 and "Traceback" not in err
    rows = query(config, "SELECT last_status, last_error FROM sources WHERE id = 'en-rss2'")
    assert rows[0][0] == "error: private_address", rows
    assert "169.254.169.254 is a link-local or cloud metadata address" in rows[0][1]
    assert query(config, "SELECT count(*) FROM articles")[0][0] == before
