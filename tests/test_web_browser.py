"""The archive's pages in a real browser: headless Chromium (tests/browser.py) against a real
`techwatch serve` on 127.0.0.1, the archive built by polling the fixture news site. Each page is
screenshotted into .ci/artifacts/screenshots/ and its console must stay free of errors (a
Content-Security-Policy violation is one)."""

from __future__ import annotations

import struct
from pathlib import Path

import browser as chromium_fixtures
import pytest
from sitesrv import Reply

pytestmark = pytest.mark.browser
chromium, browser = chromium_fixtures.chromium, chromium_fixtures.browser  # one per module

HTML = {"Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": "default-src 'none'"}


def png_size(path: Path) -> tuple[int, int]:
    """A PNG's width and height, from its IHDR chunk."""
    return struct.unpack(">II", path.read_bytes()[16:24])


# --- the browser itself: what the page tests rely on -------------------------------------------

def test_the_browser_sees_console_errors_and_saves_each_page_at_its_size(browser, site):
    site.route("/quiet", Reply(body=b"<!doctype html><meta name=viewport content="
                               b"'width=device-width'><title>Quiet</title><h1>Quiet</h1>",
                               headers=HTML))
    site.route("/loud", Reply(body=b"<!doctype html><title>Loud</title>"
                              b"<script>document.title = 'ran'</script>", headers=HTML))
    browser.visit(site.url("/quiet"), "quiet")
    assert png_size(browser.shots[-1]) == (1280, 900)
    with browser.phone():
        browser.visit(site.url("/quiet"), "quiet-phone")
    assert png_size(browser.shots[-1]) == (390, 844)
    # the page's script is blocked by its CSP: the browser logs it, and that fails a test
    with pytest.raises(AssertionError, match=r"(?s)/loud.*Content Security Policy"):
        browser.visit(site.url("/loud"), "loud")
    assert browser.driver.title == "Loud"
    browser.visit(site.url("/loud"), "loud-not-ours", ours=False)  # an outlet's page may log
    assert all(shot.stat().st_size > 1000 for shot in browser.shots)
