"""The archive on the web (bot.web): every route and its status codes, the security headers,
untrusted text shown as text, the raw page only as a download, the Atom feed, the JSON API and
access (password, Sign in with Slack), on an archive built by `techwatch run --once` from the
fixture site (plus one hostile page), on SQLite and PostgreSQL; and the real listener of
`techwatch serve`."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import feedparser
import httpx
import pytest
from conftest import DIALECTS, FIXED_NOW, ROOT, empty_database, run_once, write_config
from newsite import news_sources, query, serve_news_site
from sitesrv import Reply, Site
from werkzeug.test import Client

from bot.app import load_app
from bot.web.app import CSP
from bot.web.serve import build_web_app

HOSTILE_TEXT = ('<script>alert("pwned")</script> Japan and the United States signed a quantum '
                'computing cooperation agreement in Tokyo on Friday, officials said. ')
HOSTILE_PAGE = (
    "<!doctype html><html><head><title>Hostile page</title>"
    "<script>document.title = 'ran in your origin'</script></head><body><article>"
    "<h1>US and Japan sign quantum pact</h1>"
    + "".join(f"<p>{HOSTILE_TEXT.replace('<', '&lt;').replace('>', '&gt;')} Paragraph {i}.</p>"
              for i in range(6))
    + "</article></body></html>").encode()
HOSTILE_FEED = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Hostile</title>'
    "<item><title>US and Japan sign quantum pact &lt;script&gt;alert(1)&lt;/script&gt;</title>"
    "<link>{url}</link><pubDate>Sat, 21 Nov 2026 08:00:00 GMT</pubDate></item>"
    "</channel></rss>")


def hostile_sites(site: Site) -> list[dict]:
    """A hostile outlet, and a wire service whose copy of its report makes a story of two."""
    for name in ("hostile", "wire"):
        site.route(f"/{name}.html", Reply(body=HOSTILE_PAGE,
                                          headers={"Content-Type": "text/html; charset=utf-8"}))
        site.route(f"/feeds/{name}.xml", Reply(
            body=HOSTILE_FEED.format(url=site.url(f"/{name}.html")).encode(),
            headers={"Content-Type": "application/rss+xml"}))
    return [{"id": "hostile", "name": "Hostile <b>outlet</b>",
             "url": site.url("/feeds/hostile.xml"), "lang": "en"},
            {"id": "wire", "name": "Wire", "url": site.url("/feeds/wire.xml"), "lang": "en"}]


@pytest.fixture(scope="module", params=DIALECTS)
def archive(request, tmp_path_factory) -> Iterator[Path]:
    """A config whose archive one `techwatch run --once` filled from the fixture site and a
    hostile page; one more article's link made `javascript:` (as a hostile feed could give)."""

    directory = tmp_path_factory.mktemp("web")
    with empty_database(request.param, directory) as url:
        site = Site().start()
        try:
            serve_news_site(site)
            sources = [*news_sources(site), *hostile_sites(site)]
            path = write_config(directory, sources, database=url)
            run_once(path)
        finally:
            site.stop()
        (linkless,) = query(path, "SELECT min(id) FROM articles WHERE source_id = 'en-rss2'")[0]
        query_write(path, "UPDATE articles SET url = 'javascript:alert(1)', canonical_url = "
                          "'javascript:alert(1)' WHERE id = ?", linkless)
        yield path


def query_write(config: Path, sql: str, *args) -> None:
    from newsite import engine_of, statement

    engine = engine_of(config)
    try:
        with engine.begin() as db:
            db.execute(statement(sql, *args))
    finally:
        engine.dispose()


def first_answer(url: str, process: subprocess.Popen, seconds: float) -> httpx.Response:
    """The first response from a server `process` is starting (it must not die meanwhile)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the web pages never answered"
            time.sleep(0.2)


def client_for(config: Path, env: dict | None = None, settings: str = "") -> Client:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("TECHWATCH_CONFIG", "TECHWATCH_DATABASE_URL", "SLACK_BOT_TOKEN")}
    environment.update(env or {})
    if settings:
        config = config.with_name(f"web-{abs(hash(settings))}.toml")
        config.write_text(config.with_name("techwatch.toml").read_text() + settings)
    app = load_app(str(config), environment, lambda: FIXED_NOW, reads=True)
    return Client(build_web_app(app, environment))


@pytest.fixture(scope="module")
def web(archive) -> Client:
    return client_for(archive)


def ids(config: Path, sql: str, *args) -> list[int]:
    return [r[0] for r in query(config, sql, *args)]


def html(response) -> str:
    return response.get_data(as_text=True)


# --- the pages -----------------------------------------------------------------------------

def test_every_page_answers_with_the_security_headers(web, archive):
    story = ids(archive, "SELECT coalesce(story_id, id) FROM articles WHERE relevant "
                         "AND source_id != 'seed' ORDER BY score DESC")[0]
    article = ids(archive, "SELECT id FROM articles WHERE source_id = 'en-atom'")[0]
    for path in ("/", "/?since=7d", "/?since=2026-11-01", "/search", "/search?q=Japan",
                 "/search.atom?q=Japan", f"/stories/{story}", f"/articles/{article}",
                 "/sources", "/trends", "/trends.svg", "/api/search?q=Japan", f"/api/stories/{story}",
                 f"/api/articles/{article}", "/api/sources", "/static/style.css"):
        response = web.get(path)
        assert response.status_code == 200, (path, html(response)[:300])
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        if response.mimetype == "text/html":
            page = html(response)
            assert "<script" not in page.lower(), path  # no JavaScript of ours, none let in
            assert len(response.get_data()) < 100_000, path
            assert 'name="viewport"' in page


def test_the_front_page_is_the_digest_of_a_period(web, archive):
    relevant = query(archive, "SELECT title, topics FROM articles WHERE relevant AND "
                              "source_id != 'seed' AND state = 'done'")
    assert relevant, "the fixture site has relevant stories"
    page = html(web.get("/?since=30d"))
    assert "the last 30 days" in page
    shown = re.findall(r'<h3><a href="/stories/(\d+)">', page)
    stories = set(ids(archive, "SELECT coalesce(story_id, id) FROM articles WHERE relevant "
                               "AND source_id != 'seed' AND state = 'done'"))
    assert shown and set(map(int, shown)) <= stories
    assert len(shown) == len(set(shown))  # a story once
    assert re.search(r"<h2>[^<]+ <span class=\"count\">\d+</span></h2>", page)  # by topic
    # the default: the last day had news (FIXED_NOW is the day after the fixture site's polls)
    default = html(web.get("/"))
    assert "first seen in the last day" in default
    assert "first seen since 2026-11-01 00:00 UTC" in html(web.get("/?since=2026-11-01"))
    assert web.get("/?since=soon").status_code == 400
    assert "use 24h, 7d" in html(web.get("/?since=soon"))


def test_search_pages_one_story_a_result_and_filters(web, archive):
    page = html(web.get("/search?q=quantum"))
    results = re.findall(r'<li>\s*<h3><a href="/stories/(\d+)">', page)
    assert results and len(results) == len(set(results))
    assert 'type="application/atom+xml"' in page
    ja = html(web.get("/search?q=Japan&lang=ja"))
    en = html(web.get("/search?q=Japan lang:en"))  # the grammar of the CLI and Slack
    assert ja != en
    assert "No archived article matches" in html(web.get("/search?q=quantum&since=2000-01-01"
                                                         "&topic=semiconductors&lang=ja"
                                                         "&page=3"))


@pytest.mark.parametrize("args, said", [
    ("q=Japan&topic=cooking", "unknown topic 'cooking'"),
    ("q=Japan&since=yesterday", "use 24h, 7d"),
    ("q=-Japan", "nothing to search for"),
    ("q=Japan&lang=fr", "use en or ja"),
    ("q=Japan&page=0", "a number from 1 to"),
    ("q=Japan+topic:nope", "unknown topic 'nope'"),
])
def test_a_bad_query_is_400_with_what_is_wrong(web, args, said):
    for path in ("/search", "/search.atom", "/api/search"):
        response = web.get(f"{path}?{args}")
        assert response.status_code == 400, (path, args)
        body = html(response)
        assert said in (json.loads(body)["error"] if path.startswith("/api") else unescape(body))


def test_missing_and_not_allowed(web, archive):
    last = ids(archive, "SELECT max(id) FROM articles")[0]
    for path in (f"/stories/{last + 1000}", f"/articles/{last + 1000}",
                 f"/articles/{last + 1000}/raw", "/api/stories/999999", "/api/articles/999999",
                 "/nowhere", "/static/app.js"):
        assert web.get(path).status_code == 404, path
    assert json.loads(html(web.get("/api/articles/999999")))["status"] == 404
    assert "no story" in html(web.get(f"/stories/{last + 1000}"))
    for path in ("/", "/search?q=Japan", "/api/sources"):
        response = web.post(path)
        assert response.status_code == 405
        assert response.headers["Allow"] == "GET, HEAD"
    assert web.get("/stories/abc").status_code == 404


def test_a_report_of_a_story_leads_to_its_story(web, archive):
    grouped = query(archive, "SELECT id, story_id FROM articles WHERE story_id IS NOT NULL "
                             "AND story_id != id")
    if not grouped:
        pytest.skip("the fixture site's run grouped no two reports")
    article, story = grouped[0]
    response = web.get(f"/stories/{article}")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/stories/{story}")


def test_a_story_page_lists_every_outlet_with_dates_and_why(web, archive):
    story, members = query(archive, "SELECT coalesce(story_id, id), count(*) FROM articles "
                                    "WHERE source_id != 'seed' GROUP BY 1 ORDER BY 2 DESC")[0]
    page = html(web.get(f"/stories/{story}"))
    reports = re.findall(r'<td><a href="/articles/(\d+)">', page)
    expected = ids(archive, "SELECT id FROM articles WHERE coalesce(story_id, id) = ?", story)
    assert sorted(map(int, reports)) == sorted(expected) and len(reports) == members
    assert "Why:" in page and "First seen" in page
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", page)  # when each was first seen
    api = json.loads(html(web.get(f"/api/stories/{story}")))
    assert api["id"] == story and api["articles"] == members and api["more"] == 0
    assert {r["id"] for r in api["reports"]} == set(expected)
    assert set(api) >= {"title", "lead", "summary", "why", "topics", "reports"}


def test_untrusted_text_is_text_and_only_web_links_are_links(web, archive):
    (article,) = ids(archive, "SELECT id FROM articles WHERE source_id = 'hostile'")
    text = query(archive, "SELECT text FROM articles WHERE id = ?", article)[0][0]
    assert '<script>alert("pwned")</script>' in text  # the archive holds it as text
    page = html(web.get(f"/articles/{article}"))
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page
    assert "<script" not in page
    assert "Hostile &lt;b&gt;outlet&lt;/b&gt;" in page  # a source's name is text too
    story = html(web.get(f"/stories/{ids(archive, 'SELECT coalesce(story_id, id) FROM articles WHERE id = ?', article)[0]}"))  # noqa: E501
    assert "<script" not in story
    (linkless,) = ids(archive, "SELECT id FROM articles WHERE url = 'javascript:alert(1)'")
    page = html(web.get(f"/articles/{linkless}"))
    assert "javascript:alert(1)" in page  # shown, as its address
    assert 'href="javascript' not in page.lower()
    outlet = re.findall(r'<a href="(https?://[^"]+)" rel="noopener noreferrer nofollow">',
                        html(web.get(f"/articles/{article}")))
    assert outlet and outlet[0].endswith("/hostile.html")


def test_the_stored_page_is_only_a_download(web, archive):
    (article,) = ids(archive, "SELECT id FROM articles WHERE source_id = 'hostile'")
    page = html(web.get(f"/articles/{article}"))
    assert f'href="/articles/{article}/raw"' in page and "Archived copy" in page
    response = web.get(f"/articles/{article}/raw")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data() == HOSTILE_PAGE
    unkept = ids(archive, "SELECT a.id FROM articles a WHERE NOT EXISTS (SELECT 1 FROM "
                          "raw_pages r WHERE r.article_id = a.id)")
    assert web.get(f"/articles/{unkept[0]}/raw").status_code == 404  # a seed: no page kept


def test_the_atom_feed_of_a_search(web, archive):
    response = web.get("/search.atom?q=Japan&since=30d")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    ET.fromstring(response.get_data())  # well-formed XML
    feed = feedparser.parse(response.get_data())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.entries and all(e.link.startswith("http://localhost/stories/")
                                for e in feed.entries)
    api = json.loads(html(web.get("/api/search?q=Japan&since=30d")))
    assert [e.title for e in feed.entries] == [r["title"] for r in api["results"]]
    hostile = web.get("/search.atom?q=signed+quantum+computing+cooperation").get_data()
    assert not feedparser.parse(hostile).bozo
    summaries = [e.text for e in ET.fromstring(hostile).iter("{http://www.w3.org/2005/Atom}summary")]
    assert any('<script>alert("pwned")</script>' in s for s in summaries), summaries


def test_the_json_api(web, archive):
    found = json.loads(html(web.get("/api/search?q=Japan")))
    assert set(found) == {"query", "topic", "since", "lang", "page", "next", "results"}
    first = found["results"][0]
    assert set(first) >= {"id", "title", "url", "source", "published", "topics", "story_id",
                          "story_size", "also", "snippet", "relevant", "score"}
    article = json.loads(html(web.get(f"/api/articles/{first['id']}")))
    row = query(archive, "SELECT title, text, extraction_status FROM articles WHERE id = ?",
                first["id"])[0]
    assert (article["title"], article["text"], article["extraction_status"]) == row
    sources = json.loads(html(web.get("/api/sources")))["sources"]
    assert {s["id"] for s in sources} == set(ids(archive, "SELECT id FROM sources WHERE id "
                                                          "NOT IN ('seed', 'added')"))
    assert all(s["health"] in ("ok", "failing", "gone", "disabled") for s in sources)


def test_search_pages_follow_on(archive):
    web = client_for(archive)
    web.application.page_size = 2
    first = json.loads(html(web.get("/api/search?q=Japan")))
    assert first["next"] == "/api/search?q=Japan&page=2" and len(first["results"]) == 2
    second = json.loads(html(web.get(first["next"])))
    assert second["page"] == 2 and second["results"]
    assert not {r["story_id"] for r in first["results"]} & {r["story_id"] for r in second["results"]}
    page = html(web.get("/search?q=Japan&page=2"))
    assert 'rel="prev" href="/search?q=Japan"' in page and '<ol class="results" start="3">' in page


def test_sources_and_trends(web, archive):
    page = html(web.get("/sources"))
    for (name,) in query(archive, "SELECT name FROM sources WHERE id NOT IN ('seed', 'added')"):
        assert name.replace("<", "&lt;").replace(">", "&gt;") in page
    trends = html(web.get("/trends"))
    assert "Top sources" in trends and "Fixture en-rss2" in trends
    # the chart inline, drawn with presentation attributes only: the page's policy (no
    # 'unsafe-inline') applies to it, and its texts are text
    inline = trends[trends.index("<svg"):trends.index("</svg>") + 6]
    assert "style=" not in inline and "<script" not in inline.lower()
    chart = web.get("/trends.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    svg = chart.get_data(as_text=True)
    root = ET.fromstring(svg.encode())  # well-formed, and the page's element is the same
    assert svg.endswith(inline)
    stats = web.get("/api/trends").get_json() if False else None  # (no API for trends)
    assert stats is None
    svg_ns = "{http://www.w3.org/2000/svg}"
    legend = {t.text for t in root.iter(f"{svg_ns}text")}
    topics = tomllib.loads((ROOT / "config" / "topics.toml").read_text(encoding="utf-8"))
    names = {t["name"] for t in topics["topics"]}
    ids_ = {t["id"] for t in topics["topics"]}
    assert "relevant articles (each once)" in legend and legend & names and not legend & ids_
    # the bars stack as many article–topic pairs as the table's topic rows count
    counted = sum(int(r.find(f"{svg_ns}title").text.rsplit(": ", 1)[1])
                  for r in root.iter(f"{svg_ns}rect") if r.find(f"{svg_ns}title") is not None)
    body = trends[trends.index('<table class="numbers">'):trends.index('<tr class="total">')]
    rows = re.findall(r"<tr><td>[^<]*</td>(?:<td>[^<]*</td>)*?<td>(\d+)</td></tr>", body)
    assert counted == sum(map(int, rows)) > 0


# --- access ----------------------------------------------------------------------------------

def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_password_access(archive):
    web = client_for(archive, {"TECHWATCH_WEB_PASSWORDS": "ann:s3cret, sharedpass"},
                     '\n[web]\nauth = "password"\n')
    for path in ("/", "/search?q=Japan", "/api/sources", "/trends", "/trends.svg", "/nowhere",
                 "/articles/1/raw"):
        response = web.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
        assert response.headers["Content-Security-Policy"] == CSP
    assert web.get("/", headers=basic("ann", "wrong")).status_code == 401
    assert web.get("/", headers=basic("bob", "s3cret")).status_code == 401  # ann's password
    assert web.get("/", headers=basic("ann", "s3cret")).status_code == 200
    assert web.get("/api/sources", headers=basic("anyone", "sharedpass")).status_code == 200
    assert web.get("/static/style.css").status_code == 200  # no secret in a stylesheet


def test_password_access_without_the_list_stops_at_start(archive, tmp_path):
    config = archive.with_name("web-password-only.toml")
    config.write_text(archive.read_text() + '\n[web]\nport = 1\nauth = "password"\n')
    env = {k: v for k, v in os.environ.items() if k != "TECHWATCH_WEB_PASSWORDS"}
    out = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "serve"],
                         env={**env, "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": "xoxb-x",
                              "SLACK_API_URL": "http://127.0.0.1:9/api/"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "TECHWATCH_WEB_PASSWORDS" in lines[0], out.stderr


def test_sign_in_with_slack(archive, slack):
    from slackstub import TOKEN

    env = {"SLACK_CLIENT_ID": "C.ID", "SLACK_CLIENT_SECRET": "c-secret", "SLACK_BOT_TOKEN": TOKEN,
           "SLACK_API_URL": slack.url}
    settings = '\n[web]\nauth = "slack"\npublic_url = "https://news.example.org"\n'
    web = client_for(archive, env, settings)
    page = web.get("/search?q=Japan")
    assert page.status_code == 401 and "Sign in with Slack" in html(page)
    assert web.get("/api/sources").status_code == 401
    start = web.get("/auth/slack?next=/sources")
    assert start.status_code == 302
    location = urlsplit(start.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == slack.base
    assert location.path == "/openid/connect/authorize"
    asked = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert asked["client_id"] == "C.ID" and asked["team"] == slack.team_id
    assert asked["redirect_uri"] == "https://news.example.org/auth/slack/callback"
    cookie = start.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    # Slack sends the reader back with a code: a forged state is refused, the real one signs in
    assert web.get("/auth/slack/callback?code=x&state=forged").status_code == 400
    code = slack.authorize(asked, user="U0READER", name="Reader")
    back = web.get(f"/auth/slack/callback?code={code}&state={asked['state']}")
    assert back.status_code == 302 and back.headers["Location"] == "/sources"
    assert slack.calls_to("openid.connect.token")[-1]["code"] == code
    assert not slack.refused()  # the app's credentials and the redirect_uri were Slack's
    assert web.get("/sources").status_code == 200  # the session cookie
    assert web.get("/api/sources").status_code == 200
    # a member of another workspace is not let in
    other = client_for(archive, env, settings)
    start = other.get("/auth/slack")
    asked = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["Location"]).query).items()}
    code = slack.authorize(asked, user="U0OUT", team="T0OTHER")
    refused = other.get(f"/auth/slack/callback?code={code}&state={asked['state']}")
    assert refused.status_code == 401 and "not a member of this Slack workspace" in html(refused)
    assert other.get("/sources").status_code == 401


# --- the real listener -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("archive", ["sqlite"], indirect=True)
def test_techwatch_serve_serves_the_pages(archive, slack):
    from slackstub import TOKEN

    port, web_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": TOKEN,
           "SLACK_API_URL": slack.url, "SLACK_SIGNING_SECRET": "signing",
           "TECHWATCH_WEB_PORT": str(web_port)}
    env.pop("SLACK_APP_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(archive), "serve",
                                "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        response = first_answer(f"http://127.0.0.1:{web_port}/search?q=Japan", process, 30)
        assert response.status_code == 200 and "<ol class=\"results\"" in response.text
        assert response.headers["content-security-policy"] == CSP
        assert httpx.get(f"http://127.0.0.1:{web_port}/stories/0").status_code == 404
        assert httpx.post(f"http://127.0.0.1:{web_port}/").status_code == 405
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"web: the archive on http://127.0.0.1:{web_port}/" in err


def test_techwatch_run_serves_the_pages_when_web_port_is_set(tmp_path, site):
    serve_news_site(site)
    port = free_port()
    config = write_config(tmp_path, news_sources(site), extra=f"[web]\nport = {port}\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("TECHWATCH_CONFIG", "TECHWATCH_DATABASE_URL", "SLACK_BOT_TOKEN",
                        "SLACK_APP_TOKEN", "TECHWATCH_WEB_PORT")}
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "run"],
                               env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        response = first_answer(f"http://127.0.0.1:{port}/sources", process, 60)
        assert response.status_code == 200
        assert "Fixture en-rss2" in response.text
        assert response.headers["x-content-type-options"] == "nosniff"
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"web: the archive on http://127.0.0.1:{port}/" in err


# --- the pure parts --------------------------------------------------------------------------

def test_password_list_and_comparison():
    from bot.errors import SettingError
    from bot.web.auth import check_password, parse_passwords

    entries = parse_passwords(" ann:a:b , shared ,")
    assert check_password("ann", "a:b", entries) and check_password("zed", "shared", entries)
    assert not check_password("ann", "a", entries) and not check_password("bob", "a:b", entries)
    for bad in ("", " , ", "ann:"):
        with pytest.raises(SettingError, match="TECHWATCH_WEB_PASSWORDS"):
            parse_passwords(bad)


def test_signed_values_refuse_tampering_and_age():
    from bot.web.auth import sign, unsign

    token = sign({"user": "ann", "exp": 200}, b"k")
    assert unsign(token, b"k", 100) == {"user": "ann", "exp": 200}
    assert unsign(token, b"other", 100) is None
    assert unsign(token, b"k", 201) is None  # expired
    body, mac = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"user":"eve","exp":200}').decode()
    assert unsign(f"{forged}.{mac}", b"k", 100) is None
    assert unsign("garbage", b"k", 100) is None


def test_id_token_claims_are_checked():
    from bot.web.auth import TEAM_CLAIM, claims_problem, id_token_claims

    good = {"aud": "C.ID", "nonce": "n1", "exp": 200, TEAM_CLAIM: "T0TEAM"}
    part = base64.urlsafe_b64encode(json.dumps(good).encode()).decode().rstrip("=")
    assert id_token_claims(f"h.{part}.s") == good and id_token_claims("nope") == {}
    check = dict(client_id="C.ID", nonce="n1", team="T0TEAM", now=100)
    assert claims_problem(good, **check) is None
    assert "another app" in claims_problem({**good, "aud": "X"}, **check)
    assert "not of this sign-in" in claims_problem({**good, "nonce": "n2"}, **check)
    assert "expired" in claims_problem({**good, "exp": 50}, **check)
    assert "not a member" in claims_problem({**good, TEAM_CLAIM: "T0OTHER"}, **check)


def test_the_search_grammar_of_the_pages():
    from bot.web.query import BadQuery, parse_request

    topics = ("quantum", "ai")
    wanted = parse_request({"q": 'rapidus "2 nm" -samsung topic:ai since:7d', "lang": "ja"},
                           topics, FIXED_NOW)
    assert (wanted.words, wanted.topic, wanted.since_text, wanted.lang, wanted.page) == \
        ('rapidus "2 nm" -samsung', "ai", "7d", "ja", 1)
    assert wanted.since == FIXED_NOW.replace(day=15)
    assert parse_request({"q": "x topic:ai", "topic": "quantum"}, topics, FIXED_NOW).topic == \
        "quantum"  # the page's own parameter wins
    assert wanted.query_string(2) == ("q=rapidus+%222+nm%22+-samsung&topic=ai&since=7d&lang=ja"
                                      "&page=2")
    for args in ({"q": ""}, {"q": "since:7d"}, {"q": "x" * 501}, {"q": "a", "page": "x"}):
        with pytest.raises(BadQuery):
            parse_request(args, topics, FIXED_NOW)


def test_a_forged_session_is_not_let_in(archive, slack):
    from slackstub import TOKEN

    from bot.web.auth import sign

    env = {"SLACK_CLIENT_ID": "C.ID", "SLACK_CLIENT_SECRET": "c-secret", "SLACK_BOT_TOKEN": TOKEN,
           "SLACK_API_URL": slack.url, "TECHWATCH_WEB_SECRET": "the-secret"}
    web = client_for(archive, env, '\n[web]\nauth = "slack"\n')
    web.set_cookie("techwatch_session", sign({"user": "eve", "exp": time.time() + 60}, b"guess"))
    assert web.get("/").status_code == 401
    web.set_cookie("techwatch_session", sign({"user": "ann", "exp": time.time() + 60},
                                             b"the-secret"))
    assert web.get("/").status_code == 200  # TECHWATCH_WEB_SECRET signs sessions


def test_the_trends_are_read_once_a_minute_and_anew_in_the_background(archive):
    from bot.web import queries

    app = load_app(str(archive), {}, lambda: FIXED_NOW, reads=True)
    now = [0.0]
    cache = queries.TrendCache(app, clock=lambda: now[0])
    first = cache.get()
    assert cache.get() is first  # within the minute: the same
    now[0] += queries.TREND_SECONDS + 1
    assert cache.get() is first  # stale: served while a thread reads them anew
    deadline = time.monotonic() + 30
    while cache.get() is first:
        assert time.monotonic() < deadline, "never read anew"
        time.sleep(0.05)
    assert cache.get().stats.weeks == first.stats.weeks


@pytest.mark.parametrize("archive", ["sqlite"], indirect=True)
def test_techwatch_web_serves_the_pages_alone(archive):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "TECHWATCH_WEB_PORT")}
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(archive), "web",
                                "--port", str(port)], env={**env, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        response = first_answer(f"http://127.0.0.1:{port}/?since=30d", process, 30)
        assert response.status_code == 200 and '<section class="topic-section">' in response.text
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    beyond = subprocess.run([sys.executable, "-m", "bot", "--config", str(archive), "web",
                             "--host", "0.0.0.0", "--port", str(port)],
                            env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                            timeout=60)
    assert beyond.returncode != 0 and "beyond loopback" in beyond.stderr
