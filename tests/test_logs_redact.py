"""One redaction for every log line, error line and `status` output: each shape of secret a
URL, a library or a token can carry is blanked, wherever it sits in the line."""

import json
import logging

import pytest
from conftest import FIXED_NOW, write_config
from sitesrv import Reply

from bot.logs import Redact, redact

SHAPES = [  # (text, the secret that must go, what must stay)
    ("ftp://bot:hunter2@x/", "hunter2", "ftp://***@x/"),
    ("not an http(s) URL: 'ftp://bot:hunter2@x/'", "bot:hunter2", "'ftp://***@x/'"),
    ("cannot connect: postgresql://u:p@ss%40w0rd@db:5432/x and more", "w0rd", "***@db:5432/x"),
    ("redis://:s3cretpass@cache:6379/0", "s3cretpass", "redis://***@cache"),
    ("see //user:passw0rd@host/x", "passw0rd", "//***@host/x"),
    ("article http://user:pass@127.0.0.1:8080/a.html: fetch: HTTP 404", "user:pass",
     "http://***@127.0.0.1:8080/a.html: fetch"),
    ("https://x.example/feed?api_key=AK123456&lang=en", "AK123456", "api_key=***&lang=en"),
    ("https://x.example/feed?token=T0K3N-value", "T0K3N", "?token=***"),
    ("https://x.example/feed?lang=ja&key=K3Y9", "K3Y9", "&key=***"),
    ("https://blob.example/c?sv=2024&sig=abc%2Fdef%3D", "abc%2F", "&sig=***"),
    ("https://s3.example/o?X-Amz-Signature=f00ba4&X-Amz-Credential=AKIA1/2/3",
     "f00ba4", "X-Amz-Signature=***&X-Amz-Credential=***"),
    ("https://x.example/cb#access_token=ya29.abc&expires_in=3600", "ya29", "#access_token=***&"),
    ("https://x.example/?client_secret=cs1&password=pw2&signature=sg3", "cs1", "password=***"),
    ("<https://x.example/?token=abc123|label>", "abc123", "?token=***|label>"),
    ("posting with xoxb-1234-5678-abcdefgh failed", "xoxb-", "with [redacted] failed"),
    ("user token xoxp-1111-2222-3333-abcdef", "xoxp-", "[redacted]"),
    ("browser token xoxc-1234567890-abcdefghij", "xoxc-", "[redacted]"),
    ("refresh token xoxe-1-My0xLTEyMzQ1Ng", "xoxe-", "[redacted]"),
    ("rotated xoxe.xoxp-1-Mi0yLTEyMzQ1Ng-abc", "xoxe.xoxp", "rotated [redacted]"),
    ("socket mode xapp-1-A0123-456-abcdef", "xapp-", "[redacted]"),
    ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi", "Bearer [redacted]"),
]


@pytest.mark.parametrize(("text", "secret", "kept"), SHAPES, ids=[s[1] for s in SHAPES])
def test_every_shape_of_secret_is_blanked_and_the_rest_kept(text, secret, kept):
    clean = redact(text, ())
    assert secret not in clean and kept in clean, clean


def test_ordinary_text_and_urls_are_left_alone():
    for text in ("fetch: HTTP 404: https://news.example.com/2026/11/a.html?id=7&page=2",
                 "https://medium.com/@someone/a-post", "write to press@example.com",
                 "the bot token, xoxb-...", "sqlite:////var/lib/techwatch/techwatch.db",
                 "keyword=quantum&author=Sato"):
        assert redact(text, ()) == text


def test_the_configured_secrets_are_blanked_by_default_from_the_environment(monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "8f14e45fceea167a5a36dedd4bea2543")
    assert redact("signed with 8f14e45fceea167a5a36dedd4bea2543") == "signed with [redacted]"
    assert redact("a b", ["a"]) == "a b"  # a short value is no secret to hunt for


def test_a_log_line_and_its_traceback_are_redacted():
    try:
        raise ValueError("cannot open https://u:hunter2@x.example/?token=t0ps3cret")
    except ValueError:
        import sys

        record = logging.LogRecord("techwatch", logging.ERROR, __file__, 1, "article %s: %s",
                                   ("http://reader:pa55word@x.example/a", "xoxc-1234567890-abcd"),
                                   sys.exc_info())
    assert Redact(()).filter(record)
    line = logging.Formatter("%(message)s").format(record)
    for secret in ("pa55word", "xoxc-", "hunter2", "t0ps3cret"):
        assert secret not in line, secret
    assert "Traceback" in line and "http://***@x.example/a" in line
    from bot.logs import JsonLines

    assert "hunter2" not in JsonLines().format(record)


def test_a_url_with_a_password_in_slack_api_url_is_not_printed(tmp_path, cli, monkeypatch):
    config = write_config(tmp_path, [])
    monkeypatch.setenv("SLACK_API_URL", "ftp://bot:hunter2@x/")
    code, _, err = cli("--config", str(config), "status")
    assert code == 2 and "slack.api_url" in err and "ftp://***@x/" in err
    assert "hunter2" not in err
    monkeypatch.delenv("SLACK_API_URL")
    config.write_text(config.read_text() + '[slack]\napi_url = "ftp://bot:hunter2@x/"\n')
    code, _, err = cli("--config", str(config), "status")
    assert code == 2 and "ftp://***@x/" in err and "hunter2" not in err


def test_the_article_log_line_and_status_show_no_credentials(site, tmp_path, cli):
    """A feed links to a page with a password and an API key in its URL; the page is gone:
    the poll's log lines and `status` say so without them."""
    port = site.base.rsplit(":", 1)[1]
    link = f"http://reader:pa55word@127.0.0.1:{port}/gone.html?api_key=K3YK3YK3Y"
    site.route("/feed.xml", Reply(body=(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>US-Japan chip pact</title><link>{link.replace('&', '&amp;')}</link>"
        "<pubDate>Sat, 21 Nov 2026 09:00:00 GMT</pubDate>"
        "<description>Chips.</description></item></channel></rss>").encode(),
        headers={"Content-Type": "application/rss+xml"}))
    config = write_config(tmp_path, [{"id": "t", "name": "T",
                                      "url": site.url("/feed.xml?token=F33DT0K3N")}])
    code, _, err = cli("--config", str(config), "poll")
    assert code == 0 and "gone.html" in err  # the article's line is there
    for secret in ("pa55word", "K3YK3YK3Y", "F33DT0K3N"):
        assert secret not in err, secret
    from bot.models import PollOutcome
    from bot.store import open_archive

    archive = open_archive(f"sqlite:///{tmp_path / 'techwatch.db'}")
    error = f"fetch: HTTP 500: {link}&sig=S1GS1GS1G (xoxe-1-My0xLTEyMzQ1Ng)"  # as stored before
    archive.record_poll("t", PollOutcome("error: http", FIXED_NOW, 1, error=error), (), FIXED_NOW)
    archive.close()
    for args in (["status"], ["status", "--json"]):
        code, out, _ = cli("--config", str(config), *args)
        assert code == 0 and "gone.html" in out
        for secret in ("pa55word", "K3YK3YK3Y", "S1GS1GS1G", "xoxe-1-"):
            assert secret not in out, (args, secret)
    assert json.loads(out)["sources"][0]["last_error"].startswith("fetch: HTTP 500: http://***@")


def test_sources_check_and_add_print_a_feeds_url_without_its_key(site, tmp_path, cli):
    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Keyed</title><item>'
            b"<title>US-Japan chip pact</title><link>https://x.example/a</link></item>"
            b"</channel></rss>")
    site.route("/feed.xml", Reply(body=feed, headers={"Content-Type": "application/rss+xml"}))
    site.route("/old.xml", Reply(301, headers={"Location": site.url("/feed.xml?token=T0K3NT0K3N")}))
    config = write_config(tmp_path, [{"id": "k", "name": "K",
                                      "url": site.url("/old.xml?token=T0K3NT0K3N")}])
    code, out, _ = cli("--config", str(config), "sources", "check")
    assert code == 0 and "redirected to" in out and "token=***" in out
    assert "T0K3NT0K3N" not in out
    code, out, _ = cli("--config", str(config), "sources", "add",
                       site.url("/feed.xml?api_key=AP1K3YAP1K3Y"))
    assert code == 0 and "added source" in out and "api_key=***" in out
    assert "AP1K3YAP1K3Y" not in out


@pytest.mark.alone
def test_a_hostile_line_costs_time_in_proportion_to_its_length():
    """A feed's title in a log line is untrusted: no shape of it may make the redaction
    quadratic (8 times the text: about 8 times the time, where a backtracking pattern took 64)."""
    import time

    def cost(text: str) -> float:  # the best of several: a busy machine only adds time
        best = float("inf")
        for _ in range(7):
            started = time.perf_counter()
            redact(text, ())
            best = min(best, time.perf_counter() - started)
        return best

    for unit in ("a.", "ab+", "&a.", "//a", "?token", "bearer ", "x@"):
        ratio = min(cost(unit * 32000) / max(cost(unit * 4000), 1e-6) for _ in range(3))
        assert ratio < 25, (unit, ratio)


def test_a_failing_sources_error_is_redacted_in_slack_too():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from bot.slackapp.replies import sources_reply

    row = SimpleNamespace(
        id="wire", name="Wire", last_status="error: http", disabled_at=None, enabled=True,
        failing_since=datetime(2026, 11, 22, tzinfo=UTC), consecutive_errors=5,
        last_success_at=None,
        last_error="HTTP 500: https://bob:hunter22@wire.example/feed?api_key=s3cr3tvalue",
        last_new_item_at=None)
    text = json.dumps(sources_reply([row], datetime(2026, 11, 23, tzinfo=UTC)))
    assert "failing since" in text and "wire.example" in text
    assert "hunter22" not in text and "s3cr3tvalue" not in text
