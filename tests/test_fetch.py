"""The polite fetcher against a real local HTTP server."""

import asyncio
import gzip
import time
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from sitesrv import Reply

from bot.config import FetchSettings
from bot.errors import FetchError, HostPaused, RateLimited
from bot.feeds.fetch import Fetcher, build_client, parse_retry_after


def test_private_addresses_refused_when_asked_also_after_redirects(site):
    site.route("/ok", Reply(body=b"local"))
    site.route("/metadata", Reply(302, headers={"Location": "http://169.254.169.254/latest/"}))
    site.route("/mapped", Reply(302, headers={"Location": "http://[::ffff:169.254.169.254]/"}))
    with pytest.raises(FetchError, match="refused: localhost is not a public address") as error:
        fetch(site.url("/ok").replace("127.0.0.1", "localhost"), private_ok=False)
    assert error.value.kind == "private_address" and site.hits("/ok") == []
    assert "127.0.0.1" not in str(error.value)  # what an internal name resolves to is not said
    assert fetch(site.url("/ok"), private_ok=True).body == b"local"  # a local source's own site
    for path in ("/metadata", "/mapped"):  # never, whatever the source; no connection tried
        with pytest.raises(FetchError, match="link-local or cloud metadata") as error:
            fetch(site.url(path), private_ok=True)
        assert error.value.kind == "private_address"


def test_secrets_in_urls_never_reach_messages(site):
    site.route("/feed", Reply(500))
    with pytest.raises(FetchError) as error:
        fetch(site.url("/feed?api_key=s3cr3t&x=1").replace("http://", "http://bob:hunter2@"))
    assert "s3cr3t" not in str(error.value) and "hunter2" not in str(error.value)
    assert "api_key=***" in str(error.value) and "***@127.0.0.1" in str(error.value)


def fetch(url, settings=None, **kw):
    result = asyncio.run(fetch_many([url], settings, **kw))[0]
    if isinstance(result, Exception):
        raise result
    return result


async def fetch_many(urls, settings=None, **kw):
    """Fetched as for a configured source on this machine (the test site is on loopback)."""
    kw.setdefault("private_ok", True)
    settings = settings or FetchSettings(per_host_delay_seconds=0, timeout_seconds=2)
    async with build_client(settings) as client:
        fetcher = Fetcher(client, settings)
        return await asyncio.gather(*(fetcher.get(u, **kw) for u in urls),
                                    return_exceptions=True)


def test_sends_honest_user_agent_and_gzip_and_decodes_it(site):
    site.route("/a", Reply(body=gzip.compress(b"hello " * 1000),
                           headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"}))
    result = fetch(site.url("/a"))
    assert result.body == b"hello " * 1000
    seen = site.hits("/a")[0].headers
    assert seen["user-agent"].startswith("techwatch/") and "gzip" in seen["accept-encoding"]


def test_conditional_get_returns_304_without_body(site):
    site.route("/feed", Reply(body=b"<rss/>", headers={"ETag": '"v7"',
                                                     "Last-Modified": "Sat, 21 Nov 2026 10:00:00 GMT"}))
    result = fetch(site.url("/feed"), etag='"v7"', last_modified="Sat, 21 Nov 2026 10:00:00 GMT")
    assert result.not_modified and result.body == b""
    headers = site.hits("/feed")[0].headers
    assert headers["if-none-match"] == '"v7"'
    assert headers["if-modified-since"] == "Sat, 21 Nov 2026 10:00:00 GMT"


def test_body_over_the_cap_is_refused(site):
    site.route("/big", Reply(body=b"x" * 200_000))
    settings = FetchSettings(max_body_bytes=100_000, per_host_delay_seconds=0)
    with pytest.raises(FetchError, match="larger than 100,000 bytes") as error:
        fetch(site.url("/big"), settings)
    assert error.value.kind == "too_large"


def test_cap_counts_bytes_without_content_length(site):
    # no Content-Length: the body streams until the server closes, and is counted as it comes
    site.route("/stream", Reply(body=b"y" * 300_000, length=False))
    settings = FetchSettings(max_body_bytes=50_000, per_host_delay_seconds=0)
    with pytest.raises(FetchError, match="larger than"):
        fetch(site.url("/stream"), settings)


def test_gzip_bomb_is_stopped_after_decompression(site):
    bomb = gzip.compress(b"\0" * 50_000_000)  # 50 MB inflates from ~50 kB
    assert len(bomb) < 100_000
    site.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    settings = FetchSettings(max_body_bytes=1_000_000, per_host_delay_seconds=0)
    with pytest.raises(FetchError, match="larger than 1,000,000 bytes"):
        fetch(site.url("/bomb"), settings)


def test_corrupt_gzip_is_a_clear_error(site):
    site.route("/bad", Reply(body=b"not gzip at all", headers={"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match="corrupt compressed body"):
        fetch(site.url("/bad"))


@pytest.mark.parametrize("encoding, body", [
    ("gzip", gzip.compress(b"first half, ") + gzip.compress(b"second half")),  # two members
    ("gzip", gzip.compress(b"first half, second half") + b"\0" * 512),  # zero padding
    ("deflate", zlib.compress(b"first half, second half")),
    ("deflate", zlib.compress(b"first half, second half")[2:-4]),  # raw, as some servers send
], ids=["gzip-members", "gzip-padding", "deflate-zlib", "deflate-raw"])
def test_every_legal_compressed_body_is_read_whole(site, encoding, body):
    site.route("/z", Reply(body=body, headers={"Content-Encoding": encoding}))
    assert fetch(site.url("/z")).body == b"first half, second half"


def test_a_compressed_body_cut_short_is_an_error_not_a_shorter_feed(site):
    whole = gzip.compress(b"<rss>" + b"<item>x</item>" * 5000 + b"</rss>")
    site.route("/cut", Reply(body=whole[: len(whole) // 2], headers={"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match="cut short"):
        fetch(site.url("/cut"))


def test_redirects_are_followed_and_loops_stopped(site):
    site.route("/old", Reply(301, headers={"Location": "/new"}))
    site.route("/new", Reply(body=b"moved here"))
    result = fetch(site.url("/old"))
    assert result.url == site.url("/new") and result.body == b"moved here" and result.requests == 2
    site.route("/loop1", Reply(302, headers={"Location": "/loop2"}))
    site.route("/loop2", Reply(302, headers={"Location": "/loop1"}))
    with pytest.raises(FetchError, match="redirects") as error:
        fetch(site.url("/loop1"))
    assert error.value.kind == "redirects"


def test_timeout_is_reported_as_such(site):
    site.route("/slow", Reply(body=b"late", delay=3))
    settings = FetchSettings(timeout_seconds=0.5, per_host_delay_seconds=0)
    with pytest.raises(FetchError, match="timed out") as error:
        fetch(site.url("/slow"), settings)
    assert error.value.kind == "timeout"


def test_slow_drip_body_hits_the_overall_deadline(site):
    site.route("/drip", Reply(body=b"z" * 20_000, drip=0.2))  # 20 chunks, 4 s in all
    settings = FetchSettings(timeout_seconds=0.5, per_host_delay_seconds=0)
    with pytest.raises(FetchError, match=r"not complete after 1s \(a response that trickles in\)"):
        fetch(site.url("/drip"), settings)


def test_dead_host_and_http_errors(site):
    with pytest.raises(FetchError, match="cannot connect") as error:
        fetch("http://127.0.0.1:9/feed")  # the discard port: nothing listens
    assert error.value.kind == "connect"
    site.route("/500", Reply(500, b"oops"))
    with pytest.raises(FetchError, match="HTTP 500") as error:
        fetch(site.url("/500"))
    assert error.value.status == 500
    site.route("/gone", Reply(410))
    with pytest.raises(FetchError) as error:
        fetch(site.url("/gone"))
    assert error.value.kind == "gone"
    for broken in ("http://[::1", "http://127.0.0.1:port/feed"):
        with pytest.raises(FetchError, match="bad URL") as error:
            fetch(broken)
        assert error.value.kind == "bad_url"


def test_429_with_retry_after_pauses_that_host_only(site):
    site.route("/limited", Reply(429, headers={"Retry-After": "120"}))
    site.route("/other", Reply(body=b"fine"))

    async def scenario():
        settings = FetchSettings(per_host_delay_seconds=0)
        async with build_client(settings) as client:
            fetcher = Fetcher(client, settings)
            with pytest.raises(RateLimited) as first:
                await fetcher.get(site.url("/limited"), private_ok=True)
            assert not isinstance(first.value, HostPaused)  # the host said so itself
            with pytest.raises(HostPaused):
                await fetcher.get(site.url("/other"), private_ok=True)  # same host: paused, not even asked
            other_host = site.url("/other").replace("127.0.0.1", "localhost")
            return first.value, await fetcher.get(other_host, private_ok=True)

    error, result = asyncio.run(scenario())
    assert timedelta(seconds=100) < error.until - datetime.now(UTC) <= timedelta(seconds=120)
    assert result.body == b"fine"
    assert len(site.hits("/other")) == 1  # only the other host's request reached the server


@pytest.mark.alone
def test_per_host_delay_spaces_requests(site):
    site.route("/p", Reply(body=b"ok"))
    settings = FetchSettings(per_host_delay_seconds=0.3, per_host_concurrency=4)
    started = time.monotonic()
    asyncio.run(fetch_many([site.url("/p")] * 4, settings))
    times = sorted(hit.at for hit in site.hits("/p"))
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 4 and min(gaps) >= 0.25
    assert time.monotonic() - started >= 0.85


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == now + timedelta(seconds=30)
    assert parse_retry_after("Sun, 22 Nov 2026 12:05:00 GMT", now) == now + timedelta(minutes=5)
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None
    assert parse_retry_after("99999999999999999999", now) == now + timedelta(days=1)  # capped


def test_the_connection_goes_to_the_address_that_was_checked(site, monkeypatch):
    """DNS rebinding: a name resolves once, and the connection is made to that address (with
    the name's Host header), not to whatever the name resolves to a moment later. Public DNS
    cannot run here: the resolver is the one thing replaced; both servers are on loopback."""
    import socket
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from threading import Thread

    port = int(site.base.rsplit(":", 1)[1])

    class Internal(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            self.wfile.write(b"internal")

        def log_message(self, *args):
            pass

    internal = HTTPServer(("127.0.0.2", port), Internal)
    Thread(target=internal.serve_forever, daemon=True).start()
    site.route("/page", Reply(body=b"the site"))
    real, answers = socket.getaddrinfo, iter(["127.0.0.1"] + ["127.0.0.2"] * 5)
    asked = []

    def rebinding(host, *args, **kw):
        if host != "rebind.test":
            return real(host, *args, **kw)
        asked.append(host)
        return real(next(answers), *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        result = fetch(f"http://rebind.test:{port}/page", private_ok=True)
    finally:
        internal.shutdown()
    assert result.body == b"the site" and asked == ["rebind.test"]
    assert site.hits("/page")[0].headers["host"] == f"rebind.test:{port}"


