"""A machine whose network does not reach the feeds: the first run says so (and why), a second
run says the sources are backing off, `--now` polls them anyway, and a proxy from the
environment (HTTP_PROXY, NO_PROXY) carries feeds, pages and Slack's calls."""

from __future__ import annotations

import json

import pytest
from conftest import write_config
from newsite import news_sources, query, serve_news_site
from proxysrv import Proxy
from sitesrv import Reply
from slackstub import TOKEN

from bot.feeds.reach import likely_cause, unreachable

NAME = "news.example.test"  # known to the proxy only: no resolver here knows it
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def no_proxy_env(monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.lower(), raising=False)
    return monkeypatch


@pytest.fixture
def proxy(site):
    server = Proxy({NAME: site.base.removeprefix("http://")}).start()
    yield server
    server.stop()


def feed_by_name(site, tmp_path, extra: str = ""):
    """A source whose feed and pages are named by a name only the proxy resolves."""
    serve_news_site(site)
    named = site.base.replace("127.0.0.1", NAME)
    site.route("/feeds/named.xml", Reply(
        body=site.fixture("feeds/en-rss2.xml").replace(site.base.encode(), named.encode()),
        headers={"Content-Type": "application/rss+xml"}))
    return write_config(tmp_path, [{"id": "wire", "name": "Wire", "url": f"{named}/feeds/named.xml",
                                    "lang": "en"}], extra=extra)


def archived(config) -> int:
    return query(config, "SELECT count(*) FROM articles WHERE source_id = 'wire' "
                         "AND state = 'done'")[0][0]


def test_a_first_run_that_reaches_no_source_says_so_why_and_what_next(site, tmp_path, cli,
                                                                        no_proxy_env, proxy):
    config = feed_by_name(site, tmp_path)
    code, out, err = cli("--config", str(config), "run", "--once")
    assert code == 0 and "Traceback" not in err
    # the digest's header says it, not "no new stories"
    assert "no source reached" in out and "No news could be fetched" in out
    assert "No new relevant stories" not in out and "host names do not resolve" in out
    assert "every source failed (1 of 1: 1 dns)" in err
    assert "host names do not resolve (DNS)" in err and "HTTPS_PROXY" in err
    assert "`techwatch run --once --now`" in err

    # at once again: the source backs off, and the cycle says so and until when
    code, out, err = cli("--config", str(config), "poll")
    assert code == 0 and "polled 0 sources" in err
    assert "1 source skipped, backing off after failures until 2026-" in err
    assert "no source was polled: all 1 are backing off" in err and "poll --now" in err
    assert archived(config) == 0 and proxy.seen == []

    # behind the proxy now, and forced: the feed and its pages come through it
    no_proxy_env.setenv("HTTP_PROXY", proxy.url)
    code, out, err = cli("--config", str(config), "run", "--once", "--now")
    assert code == 0 and "every source failed" not in err and "backing off" not in err
    assert "no source reached" not in out
    urls = [url for _, url in proxy.seen]
    assert site.base.replace("127.0.0.1", NAME) + "/feeds/named.xml" in urls
    pages = [u for u in urls if "/articles/" in u]
    assert pages and all(NAME in u for u in pages)
    assert archived(config) == len(set(pages))


@pytest.mark.parametrize("bypass", [False, True], ids=["proxied", "no_proxy"])
def test_no_proxy_hosts_are_reached_directly(site, tmp_path, cli, no_proxy_env, proxy, bypass):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]))
    no_proxy_env.setenv("HTTP_PROXY", proxy.url)
    if bypass:
        no_proxy_env.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert cli("--config", str(config), "poll")[0] == 0
    assert query(config, "SELECT count(*) FROM articles WHERE source_id = 'en-rss2' AND "
                         "state = 'done'")[0][0] > 0
    through = [url for _, url in proxy.seen]
    if bypass:
        assert through == []
    else:
        assert site.url("/feeds/en-rss2.xml") in through
        assert any("/articles/" in u for u in through)


SLACK = '\n[[slack.digests]]\nchannel = "C0DIGEST"\ntime = "06:00"\n'


@pytest.mark.parametrize("bypass", [False, True], ids=["proxied", "no_proxy"])
def test_slack_calls_follow_the_proxy_settings(site, tmp_path, cli, slack, no_proxy_env, proxy,
                                               bypass):
    config = feed_by_name(site, tmp_path, extra=SLACK)
    no_proxy_env.setenv("SLACK_BOT_TOKEN", TOKEN)
    no_proxy_env.setenv("HTTP_PROXY", proxy.url)
    no_proxy_env.setenv("HTTPS_PROXY", proxy.url)  # slack_sdk alone would take this one for all
    if bypass:
        no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    code, out, err = cli("--config", str(config), "digest", "--always")
    assert code == 0, err
    assert slack.posts("C0DIGEST")
    slack_calls = [url for _, url in proxy.seen if url.startswith(slack.url)]
    if bypass:
        assert slack_calls == []
    else:
        assert any(url.endswith("/chat.postMessage") for url in slack_calls)


def test_a_slack_digest_says_no_source_was_reached(site, tmp_path, cli, slack, no_proxy_env):
    config = feed_by_name(site, tmp_path, extra=SLACK)
    no_proxy_env.setenv("SLACK_BOT_TOKEN", TOKEN)
    assert cli("--config", str(config), "poll")[0] == 0  # fails: the name resolves nowhere
    code, _, err = cli("--config", str(config), "poll", "--now")  # backing off, polled anyway
    assert code == 0 and "polled 1 sources (1 failed" in err and "skipped" not in err
    code, out, err = cli("--config", str(config), "digest")  # nothing new, yet it is sent
    assert code == 0, err
    [post] = slack.posts("C0DIGEST")
    text = json.dumps(post["blocks"])
    assert "No news could be fetched" in text and "every source failed (1 of 1: 1 dns)" in text
    assert "No new US" not in text


def test_the_likely_cause_follows_the_failures():
    assert unreachable(3, 2, {"dns": 2}) is None  # one source was reached
    assert unreachable(0, 0, {}) is None
    line = unreachable(2, 2, {"tls": 2})
    assert line and "2 tls" in line and "SSL_CERT_FILE" in line and "--now" in line
    assert "proxy cannot be reached" in likely_cause({"connect": 3}, proxied=True)
    assert "firewall" in likely_cause({"connect": 3, "dns": 1})
    assert "sources check" in likely_cause({"not_found": 2})


def test_now_goes_with_once(tmp_path, cli):
    config = write_config(tmp_path, [])
    code, out, err = cli("--config", str(config), "run", "--now")
    assert code != 0 and "--now goes with --once" in err and "Traceback" not in err
