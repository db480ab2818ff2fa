"""The archive's pages in a real browser: headless Chromium (tests/browser.py) against a real
`techwatch serve` on 127.0.0.1, the archive built by polling the fixture news site. Each page is
screenshotted into .ci/artifacts/screenshots/ and its console must stay free of errors (a
Content-Security-Policy violation is one)."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import browser as chromium_fixtures
import httpx
import pytest
from conftest import FIXED_NOW, ROOT, write_config
from livesite import free_port
from newsite import news_sources, serve_news_site
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from sitesrv import Reply, Site
from slackstub import TOKEN, SlackStub

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


# --- the archive's pages, served by `techwatch serve` ------------------------------------------

MARK = "Hoshizora"  # a word only the hostile article holds
SCRIPT = ("<script>document.title = 'pwned'; document.body.insertAdjacentHTML('beforeend', "
          "'<p id=\"pwned\">ran</p>')</script>")
IMAGE = '<img src="/pwned.png" onerror="document.title = \'pwned\'">'
HOSTILE_PARAGRAPHS = [
    f"{MARK} Quantum, a start-up in Tsukuba, and a US national laboratory agreed on Monday to "
    "share cryogenic test equipment for quantum computers, the two sides said in Tokyo.",
    f"The agreement quotes a line its engineers left in a shared notebook: {SCRIPT} which the "
    "archive must show as text and never run.",
    f"Researchers will exchange qubit control designs under the pact; a diagram tag {IMAGE} "
    "slipped into the release as well.",
    "Officials from both governments said the cooperation would extend to error correction "
    "research and to training programmes for young engineers in both countries.",
    "The laboratory will send a team of twelve researchers to Japan next spring, and the start-up "
    "will open a small office near the laboratory's campus in the United States.",
    "Funding for the first three years comes from existing research budgets, with a review of "
    "the programme planned once the first shared experiments are complete.",
]


def hostile_outlet(site) -> dict:
    """An outlet whose article text holds a script and an image with a handler (escaped in its
    page, so the extracted text carries them as text); its page's own script would run in our
    origin if the archive ever rendered the stored page."""
    from html import escape

    body = "".join(f"<p>{escape(p, quote=False)}</p>" for p in HOSTILE_PARAGRAPHS)
    page = ("<!doctype html><html><head><meta charset=utf-8><title>Quantum pact</title>"
            "<script>document.title = 'pwned'</script></head><body><article>"
            f"<h1>{MARK} Quantum and US lab share cryogenic test beds</h1>{body}"
            "</article></body></html>")
    site.route("/hostile/quantum-pact.html", Reply(body=page.encode(), headers={
        "Content-Type": "text/html; charset=utf-8"}))
    return one_item_feed(site, "hostile", "Hostile Wire",
                         f"{MARK} Quantum and US lab share cryogenic test beds",
                         "/hostile/quantum-pact.html", "Sat, 21 Nov 2026 08:00:00 GMT")


# the fixture feeds' outlets by the names their pages give (the README's screenshot shows them)
OUTLETS = {"en-rss2": "Pacific Wire", "en-atom": "Pacific Wire Science",
           "ja-rss1-sjis": "テック経済新報", "ja-eucjp-undeclared": "テック経済新報 政治"}


def syndicating_outlet(site) -> dict:
    """A wire service that republishes the quantum-network report (the fixture site's en-02):
    a story of two outlets."""
    path = "/syndicated/quantum-networks.html"
    page = site.fixture("articles/en-02.html").replace(b"/articles/en-02.html", path.encode())
    site.route(path, Reply(body=page, headers={"Content-Type": "text/html; charset=utf-8"}))
    return one_item_feed(site, "wire", "Asia Tech Wire", "US national lab and Japanese "
                         "institute sign pact to link quantum networks", path,
                         "Tue, 17 Nov 2026 06:30:00 GMT")


def one_item_feed(site, source: str, name: str, title: str, path: str, date: str) -> dict:
    """An RSS feed at /feeds/SOURCE.xml of one item (a page of the site), as a source."""
    feed = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>'
            f"{name}</title><item><title>{title}</title><link>{site.url(path)}</link>"
            f"<pubDate>{date}</pubDate></item></channel></rss>")
    site.route(f"/feeds/{source}.xml", Reply(body=feed.encode(), headers={
        "Content-Type": "application/rss+xml"}))
    return {"id": source, "name": name, "url": site.url(f"/feeds/{source}.xml"), "lang": "en"}


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """The fixture news site, a wire service and a hostile outlet, polled into an SQLite archive by `techwatch
    poll`; then `techwatch serve` with `[web] port` set (Slack: the stand-in), as a process."""
    from bot.cli import main

    directory = tmp_path_factory.mktemp("webbrowser")
    site, slack = Site().start(), SlackStub()
    web_port, events = free_port(), free_port()
    try:
        serve_news_site(site)
        outlets = [{**source, "name": OUTLETS[source["id"]]} for source in news_sources(site)]
        config = write_config(directory, [*outlets, syndicating_outlet(site),
                                          hostile_outlet(site)],
                              extra=f"[web]\nport = {web_port}\n")
        with pytest.MonkeyPatch.context() as env:
            for name in ("TECHWATCH_CONFIG", "TECHWATCH_DATABASE_URL", "SLACK_BOT_TOKEN"):
                env.delenv(name, raising=False)
            assert main(["--config", str(config), "-q", "poll"], now=lambda: FIXED_NOW) == 0
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TECHWATCH_"))}
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "serve", "--host", "127.0.0.1",
             "--port", str(events)],
            env={**clean, "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": TOKEN,
                 "SLACK_API_URL": slack.url, "SLACK_SIGNING_SECRET": "browser-signing-secret"},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{web_port}"
        try:
            deadline = time.monotonic() + 30
            while not answers(base + "/sources"):
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "techwatch serve's pages never answered"
                time.sleep(0.2)
            # the trends made before any test: serve warms them on a daemon thread at start,
            # and a SIGTERM while that thread draws the chart aborts the process (exit -6,
            # "terminate called without an active exception"; reported, not ours to fix here)
            assert answers(base + "/trends")
            yield SimpleNamespace(base=base, site=site, config=config)
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
        assert process.returncode == 0 and "Traceback" not in err, err
    finally:
        slack.stop()
        site.stop()


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def fits_the_width(driver) -> bool:
    """No sideways scrolling: the page is as wide as the viewport."""
    return driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")


def test_search_open_a_story_follow_an_outlet_and_read_the_archived_copy(browser, served):
    driver = browser.driver
    browser.visit(served.base + "/", "home")
    assert driver.find_element(By.TAG_NAME, "h1").text
    # the fixture stories were first seen on 2026-11-22: a period that holds them, whatever
    # today's date
    browser.visit(served.base + "/?since=2026-11-01", "home-november")
    stories = driver.find_elements(By.CSS_SELECTOR, "a[href^='/stories/']")
    assert any("quantum networks" in a.text for a in stories), [a.text for a in stories]

    # search: typed into the page's form and submitted, as a reader does
    browser.visit(served.base + "/search", "search-form")
    words = driver.find_element(By.CSS_SELECTOR, "form.search input[name=q]")
    words.send_keys("quantum networks")
    words.submit()
    WebDriverWait(driver, 10).until(lambda d: "q=quantum" in d.current_url)
    browser.settled("search-results")
    results = driver.find_elements(By.CSS_SELECTOR, "ol.results h3 a")
    assert results, driver.page_source[:2000]
    assert "quantum networks" in results[0].text

    # the story: its outlets, each report's first sighting, a link to each report
    results[0].click()
    WebDriverWait(driver, 10).until(lambda d: "/stories/" in d.current_url)
    browser.settled("story")
    story = driver.current_url
    assert "quantum networks" in driver.find_element(By.TAG_NAME, "h1").text
    outlets = {cell.text for cell in driver.find_elements(
        By.CSS_SELECTOR, "table.outlets tbody tr td:first-child")}
    # en-02 is in both Pacific Wire feeds: whichever was read first reported it
    assert len(outlets) == 2 and "Asia Tech Wire" in outlets, outlets
    with browser.phone():
        browser.visit(story, "story-phone")
        assert fits_the_width(driver), "the story page scrolls sideways on a phone"

    # an outlet's link leads to the outlet's own page (the loopback news site)
    browser.visit(story, "story-again")
    outlet = driver.find_element(By.CSS_SELECTOR, "table.outlets tbody tr td a[href^='http']")
    target = outlet.get_attribute("href")
    assert target.startswith(served.site.base)
    outlet.click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url.startswith(served.site.base))
    browser.settled("outlet-page", ours=False)
    assert "pooling" in driver.page_source or driver.find_element(By.TAG_NAME, "h1").text
    assert served.site.hits(target.removeprefix(served.site.base))

    # the report's page in the archive: its metadata and its archived copy, as text
    driver.back()
    WebDriverWait(driver, 10).until(lambda d: d.current_url == story)
    browser.settled("story-back")
    driver.find_element(By.CSS_SELECTOR, "table.outlets tbody tr a[href^='/articles/']").click()
    WebDriverWait(driver, 10).until(lambda d: "/articles/" in d.current_url)
    browser.settled("article")
    copy = driver.find_element(By.CSS_SELECTOR, "section.archived")
    assert "a 120-kilometre fibre testbed" in copy.text

    # the sources' health, and the trends with their chart drawn (inline SVG or an image: the
    # policy must let it show)
    browser.visit(served.base + "/sources", "sources")
    assert "Asia Tech Wire" in driver.find_element(By.TAG_NAME, "main").text
    browser.visit(served.base + "/trends", "trends")
    chart = driver.find_element(By.CSS_SELECTOR, "figure.chart svg, figure.chart img")
    assert chart.size["width"] > 300 and chart.size["height"] > 150
    if chart.tag_name == "img":
        assert driver.execute_script("return arguments[0].naturalWidth", chart) > 0


def test_an_article_holding_a_script_shows_it_as_text_and_nothing_runs(browser, served):
    driver = browser.driver
    browser.visit(f"{served.base}/search?q={MARK}", "search-hostile")
    driver.find_element(By.CSS_SELECTOR, "ol.results h3 a").click()
    WebDriverWait(driver, 10).until(lambda d: "/stories/" in d.current_url)
    browser.settled("story-hostile")
    driver.find_element(By.CSS_SELECTOR, "a[href^='/articles/']").click()
    WebDriverWait(driver, 10).until(lambda d: "/articles/" in d.current_url)
    browser.settled("article-hostile")  # a blocked script or handler would be a console error
    text = driver.find_element(By.CSS_SELECTOR, "section.archived").text
    assert SCRIPT in text and IMAGE in text
    assert "pwned" not in driver.title and MARK in driver.title
    assert not driver.find_elements(By.ID, "pwned")
    assert not driver.find_elements(By.CSS_SELECTOR, "section.archived script, "
                                                     "section.archived img")
    assert not served.site.hits("/pwned.png")  # the image in the text was never loaded
    # the stored page is a download, never a page of ours
    raw = driver.find_element(By.CSS_SELECTOR, "a[href$='/raw']")
    assert raw.get_attribute("download") is not None
