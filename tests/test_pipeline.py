"""The whole cycle through the `techwatch` command, against a real local news site."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from conftest import FIXED_NOW, write_config
from newsite import MANIFEST, article_paths, engine_of, news_sources, query, serve_news_site, when
from sitesrv import Reply

RELEVANT = [a for a in MANIFEST["articles"] if a.get("relevant")]
IRRELEVANT = [a for a in MANIFEST["articles"] if a.get("relevant") is False]


def test_run_once_archives_prints_digest_then_runs_conditionally(site, tmp_path, cli, database_url):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), database=database_url)

    code, out, err = cli("--config", str(config), "run", "--once")
    assert code == 0, err
    assert "Traceback" not in err
    # the digest: every relevant story once, no near miss, no seed document
    for article in RELEVANT:
        assert out.count(article["title"]) == 1, article["name"]
    for article in IRRELEVANT:
        assert article["title"] not in out
    assert "why: category: " in out and f"{len(RELEVANT)} stories" in out
    assert "Seed" not in out

    rows = query(config, "SELECT canonical_url, state, extraction_status, relevant, date_source "
                         "FROM articles WHERE source_id != 'seed'")
    by_url = {r[0]: r for r in rows}
    assert len(rows) == len(MANIFEST["articles"])  # en-02 came from two feeds, stored once
    assert all(r[1] == "done" for r in rows)
    assert by_url[site.url("/articles/paywall.html")][2] == "paywall"
    assert by_url[site.url("/articles/consent.html")][2] == "consent"
    assert by_url[site.url("/articles/section.html")][2] == "not_article"
    assert by_url[site.url("/articles/en-01.html")][2:] == ("full", 1, "feed")
    raw = query(config, "SELECT count(*), min(length(html_gz)) FROM raw_pages")[0]
    assert raw[0] == len(MANIFEST["articles"]) and raw[1] > 100
    for path in article_paths():
        assert len(site.hits(path)) == 1, path

    # second run: conditional requests, no article fetched again, nothing added
    feeds_before = {p: len(site.hits(p)) for p in site.routes if p.startswith("/feeds/")}
    code, out, err = cli("--config", str(config), "run", "--once")
    assert code == 0
    assert "0 stories" in out and "No new relevant stories" in out
    assert "0 new items" in err and "3 not modified" in err and "1 unchanged" in err
    for path in article_paths():
        assert len(site.hits(path)) == 1, path
    assert site.hits("/feeds/en-rss2.xml")[-1].headers["if-none-match"] == '"rss-1"'
    assert site.hits("/feeds/en-atom.xml")[-1].headers["if-modified-since"] == \
        "Sat, 21 Nov 2026 10:00:00 GMT"
    assert [s.status for p in feeds_before for s in site.hits(p)[feeds_before[p]:]].count(304) == 3
    assert query(config, "SELECT count(*) FROM articles WHERE source_id != 'seed'")[0][0] == \
        len(rows)


def test_search_status_and_seeds(site, tmp_path, cli, database_url):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), database=database_url)
    assert cli("--config", str(config), "poll")[0] == 0

    en02 = next(a for a in MANIFEST["articles"] if a["name"] == "en-02")
    code, out, _ = cli("--config", str(config), "search", en02["phrase"], "--json")
    hits = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and hits[0]["title"] == en02["title"]
    assert "quantum" in hits[0]["topics"] and hits[0]["published"].startswith("2026-11-1")

    for word in ("量子", "日米"):  # two-character Japanese words
        code, out, _ = cli("--config", str(config), "search", word, "--json")
        titles = [json.loads(line)["title"] for line in out.splitlines()]
        assert any(re.search(r"[\u3040-\u30ff]", t) for t in titles), word

    code, out, _ = cli("--config", str(config), "search", "chips", "--topic", "space", "--json")
    assert all("space" in json.loads(line)["topics"] for line in out.splitlines())
    code, _, err = cli("--config", str(config), "search", "x", "--topic", "nonsense")
    assert code == 1 and "unknown topic" in err

    # the seed documents are searchable on a new install
    code, out, _ = cli("--config", str(config), "search", "Technology Prosperity Deal", "--json")
    assert any(json.loads(line)["source"] == "Seed documents" for line in out.splitlines())

    code, out, _ = cli("--config", str(config), "status", "--json")
    status = json.loads(out)
    assert {s["id"] for s in status["sources"]} == {s["id"] for s in news_sources(site)}
    assert all(s["last_status"] == "ok" and s["next_poll_at"] for s in status["sources"])
    assert status["archive"]["articles"] == len(MANIFEST["articles"])
    assert status["archive"]["seeds"] == 5
    assert {"kind": "article", "outcome": "paywall", "count": 1} in status["fetches_24h"]
    code, out, _ = cli("--config", str(config), "status")
    assert code == 0 and "en-rss2" in out and "Archive:" in out


def test_bad_sources_each_get_one_line_and_the_cycle_goes_on(site, tmp_path, cli, database_url):
    serve_news_site(site)
    import gzip

    site.route("/500", Reply(500, b"Internal error"))
    site.route("/html", Reply(body=b"<!doctype html><html><body><p>Our news</p></body></html>",
                              headers={"Content-Type": "text/html"}))
    site.serve_fixture("/truncated", "feeds/broken-truncated.xml", "application/rss+xml")
    site.route("/huge", Reply(body=b"<rss>" + b" " * 12_000_000))
    site.route("/bomb", Reply(body=gzip.compress(b"<rss>" + b"\0" * 30_000_000),
                              headers={"Content-Encoding": "gzip"}))
    site.route("/loop", Reply(302, headers={"Location": "/loop"}))
    site.route("/slow", Reply(body=b"<rss/>", delay=4))
    bad = {"dead": "http://127.0.0.1:9/feed", "err500": site.url("/500"),
           "html": site.url("/html"), "huge": site.url("/huge"), "bomb": site.url("/bomb"),
           "loop": site.url("/loop"), "slow": site.url("/slow")}
    sources = [{"id": k, "name": k, "url": v} for k, v in bad.items()]
    sources += [{"id": "truncated", "name": "t", "url": site.url("/truncated")}]
    sources += news_sources(site, ["en-atom.xml"])
    config = write_config(tmp_path, sources, database=database_url)

    code, out, err = cli("--config", str(config), "run", "--once")
    assert code == 0 and "Traceback" not in err
    expected = {"dead": "cannot connect", "err500": "HTTP 500", "html": "got an HTML page",
                "huge": "larger than", "bomb": "larger than", "loop": "redirects",
                "slow": "timed out"}
    status = {r[0]: r[1:] for r in query(
        config, "SELECT id, last_status, last_error, consecutive_errors, next_poll_at, warning "
                "FROM sources")}
    for source_id, message in expected.items():
        lines = [line for line in err.splitlines() if f"source {source_id}:" in line]
        assert len(lines) == 1 and message in lines[0], (source_id, lines)
        last_status, last_error, errors, next_poll, _ = status[source_id]
        assert last_status.startswith("error") and message in last_error and errors == 1
        assert when(next_poll) > FIXED_NOW
    assert status["truncated"][0] == "ok" and "malformed feed" in status["truncated"][4]
    assert status["en-atom"][0] == "ok"
    titles = {r[0] for r in query(config, "SELECT title FROM articles")}
    assert {a["title"] for a in MANIFEST["articles"] if a["name"] in ("en-07", "en-08")} <= titles

    # the next run leaves failing sources to their back-off and polls the healthy ones
    hits = len(site.hits("/500"))
    code, _, err = cli("--config", str(config), "poll")
    assert len(site.hits("/500")) == hits and "source err500" not in err


def test_edited_entry_and_flipping_guid_update_instead_of_duplicating(site, tmp_path, cli, database_url):
    serve_news_site(site)
    feed = site.fixture("feeds/en-rss2.xml")
    site.route("/feed", Reply(body=feed, headers={"Content-Type": "application/rss+xml"}))
    config = write_config(tmp_path, [{"id": "wire", "name": "Wire", "url": site.url("/feed")}],
                          database=database_url)
    assert cli("--config", str(config), "poll")[0] == 0
    before = query(config, "SELECT id, title FROM articles WHERE source_id = 'wire' ORDER BY id")

    en05 = next(a for a in MANIFEST["articles"] if a["name"] == "en-05")
    edited = feed.replace(en05["title"].encode(), b"UPDATED: " + en05["title"].encode())
    edited = edited.replace(f"<guid isPermaLink=\"true\">{site.base}".encode(),
                            f"<guid isPermaLink=\"true\">{site.base.replace('http', 'https')}"
                            .encode())
    assert edited.count(b"https://127.0.0.1") >= 5
    site.route("/feed", Reply(body=edited, headers={"Content-Type": "application/rss+xml"}))
    code, _, err = cli("--config", str(config), "poll")
    after = query(config, "SELECT id, title FROM articles WHERE source_id = 'wire' ORDER BY id")
    assert [r[0] for r in after] == [r[0] for r in before]
    assert ("UPDATED: " + en05["title"]) in {r[1] for r in after}
    assert "0 new items, 1 updated" in err
    assert len(site.hits(en05["path"])) == 1


def test_transient_article_failures_are_retried_permanent_ones_keep_the_summary(
        site, tmp_path, cli, capsys, database_url):
    serve_news_site(site)
    attempts = []

    def flaky(seen):
        attempts.append(seen)
        if len(attempts) == 1:
            return Reply(503, b"busy")
        return Reply(body=site.fixture("articles/en-03.html"),
                     headers={"Content-Type": "text/html"})

    site.route("/articles/en-03.html", flaky)
    site.route("/articles/en-04.html", Reply(404, b"gone"))
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]), database=database_url)
    en03 = next(a for a in MANIFEST["articles"] if a["name"] == "en-03")
    _, first_digest, _ = cli("--config", str(config), "run", "--once")
    rows = dict(query(config, "SELECT url, state FROM articles WHERE source_id != 'seed'"))
    assert rows[site.url("/articles/en-03.html")] == "pending"
    assert en03["title"] not in first_digest
    status = query(config, "SELECT extraction_status, extraction_note, summary != '' FROM "
                           "articles WHERE url = ?", site.url("/articles/en-04.html"))[0]
    assert status[0] == "feed_only" and "HTTP 404" in status[1] and status[2]

    cli("--config", str(config), "run", "--once")  # at once: the page waits its back-off
    assert len(attempts) == 1

    def run_later(minutes: float) -> str:
        from bot.cli import main

        capsys.readouterr()
        main(["--config", str(config), "run", "--once"],
             now=lambda: FIXED_NOW + timedelta(minutes=minutes))
        return capsys.readouterr().out

    second_digest = run_later(2)  # past the first back-off (a minute)
    state = query(config, "SELECT state, extraction_status FROM articles WHERE url = ?",
                  site.url("/articles/en-03.html"))[0]
    assert state == ("done", "full") and len(attempts) == 2
    assert len(site.hits("/articles/en-04.html")) == 1
    # finished late, it still gets into the next digest, once
    assert second_digest.count(en03["title"]) == 1 and "1 story ·" in second_digest
    assert en03["title"] not in run_later(3)


def test_google_news_items_are_decoded_or_kept_summary_only(site, tmp_path, cli, database_url):
    from test_identity import google_link

    serve_news_site(site)
    en03 = next(a for a in MANIFEST["articles"] if a["name"] == "en-03")
    items = [(google_link(site.url(en03["path"])), en03["title"] + " - Space Wire", "Space Wire"),
             ("https://news.google.com/rss/articles/AU_yqLopaque123?oc=5",
              "US and Japan sign quantum pact - Kyodo News", "Kyodo News")]
    xml = "".join(f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
                  f"<description>US and Japan deepen quantum and chip cooperation.</description>"
                  f'<source url="https://example.org">{pub}</source></item>'
                  for link, t, pub in items)
    site.route("/gn", Reply(body=f'<rss version="2.0"><channel><title>GN</title>{xml}'
                                 "</channel></rss>".encode()))
    config = write_config(tmp_path, [{"id": "gn", "name": "Google News", "url": site.url("/gn")}],
                          database=database_url)
    assert cli("--config", str(config), "poll")[0] == 0
    rows = {r[0]: r[1:] for r in query(
        config, "SELECT title, url, publisher, extraction_status FROM articles "
                "WHERE source_id = 'gn'")}
    assert rows[en03["title"]] == (site.url(en03["path"]), "Space Wire", "full")
    opaque = rows["US and Japan sign quantum pact"]
    assert opaque[1:] == ("Kyodo News", "feed_only") and "news.google.com" in opaque[0]
    assert len(site.hits(en03["path"])) == 1


def test_prefilter_skips_fetching_items_that_cannot_be_relevant(site, tmp_path, cli, database_url):
    serve_news_site(site)
    sources = news_sources(site, ["en-atom.xml"])
    sources[0]["prefilter"] = True
    config = write_config(tmp_path, sources, database=database_url)
    assert cli("--config", str(config), "poll")[0] == 0
    statuses = dict(query(config, "SELECT url, extraction_status FROM articles "
                                  "WHERE source_id != 'seed'"))
    fetched = {path for path in article_paths() if site.hits(path)}
    assert "/articles/en-02.html" in fetched  # names Japan: fetched
    skipped = [u for u, s in statuses.items() if s == "feed_only"]
    assert skipped and all(not site.hits(u.replace(site.base, "")) for u in skipped)


def test_sources_check_reports_each_source_without_changing_state(site, tmp_path, cli, database_url):
    serve_news_site(site)
    site.route("/html", Reply(body=b"<html><body>hi</body></html>",
                              headers={"Content-Type": "text/html"}))
    sources = news_sources(site, ["ja-rss1-sjis.rdf"]) + [
        {"id": "page", "name": "Page", "url": site.url("/html")}]
    config = write_config(tmp_path, sources, database=database_url)
    code, out, _ = cli("--config", str(config), "sources", "check")
    assert code == 1  # one source is broken
    assert re.search(r"ja-rss1-sjis\s.*HTTP 200\s.*rss10\s.*3", out)
    assert re.search(r"page\s.*error: parse", out) and "1 of 2 sources OK" in out
    assert query(config, "SELECT count(*) FROM articles WHERE source_id != 'seed'")[0][0] == 0
    assert {r[0] for r in query(config, "SELECT last_status FROM sources WHERE id != 'seed'")} \
        == {"never polled"}


def test_hostile_headlines_cannot_ping_or_escape(site, tmp_path, cli, database_url):
    serve_news_site(site)
    page = site.fixture("articles/en-03.html")
    hostile = ("US and Japan &lt;!channel&gt; sign lunar rover pact &#27;[2J with JAXA")
    xml = (f'<rss version="2.0"><channel><title>x</title><item><title>{hostile}</title>'
           f"<link>{site.url('/a')}</link><description>NASA JAXA lunar rover</description>"
           "</item></channel></rss>")
    site.route("/a", Reply(body=page, headers={"Content-Type": "text/html"}))
    site.route("/f", Reply(body=xml.encode()))
    config = write_config(tmp_path, [{"id": "h", "name": "H", "url": site.url("/f")}], database=database_url)
    code, out, _ = cli("--config", str(config), "run", "--once")
    assert code == 0 and "sign lunar rover pact" in out
    assert "\x1b" not in out  # no terminal escape from a headline
    stored = query(config, "SELECT title FROM articles WHERE source_id = 'h'")[0][0]
    assert "\x1b" not in stored and "<!channel>" not in stored


def test_a_gone_feed_is_not_polled_again_until_its_url_changes(site, tmp_path, cli, database_url):
    site.route("/old", Reply(410, b"gone"))
    site.serve_fixture("/new", "feeds/en-atom.xml", "application/atom+xml")
    config = write_config(tmp_path, [{"id": "g", "name": "G", "url": site.url("/old")}],
                          database=database_url)
    code, _, err = cli("--config", str(config), "poll")
    assert code == 0 and "no longer polled" in err
    cli("--config", str(config), "poll")
    assert len(site.hits("/old")) == 1  # not asked again
    code, out, _ = cli("--config", str(config), "status")
    row = next(line for line in out.splitlines() if line.lstrip("│ ").startswith("g "))
    assert "gone" in row and "never" in row  # no next poll shown for it
    from bot.app import load_app
    from bot.health import Metrics

    app = load_app(str(config), {}, now=lambda: FIXED_NOW)
    metrics = Metrics()
    metrics.observe_sources(app.archive.source_rows(), 0)
    app.close()
    assert metrics.next_poll.collect()[0].samples == []  # no overdue alert, ever
    write_config(tmp_path, [{"id": "g", "name": "G", "url": site.url("/new")}], database=database_url)
    assert cli("--config", str(config), "poll")[0] == 0
    assert len(site.hits("/new")) == 1


def test_a_feed_date_in_the_future_or_a_placeholder_is_not_trusted():
    from datetime import timedelta

    from bot.analysis import choose_date

    seen = datetime(2026, 11, 22, 12, tzinfo=UTC)
    page = datetime(2026, 11, 21, 9, tzinfo=UTC)
    assert choose_date(seen - timedelta(hours=3), page, seen) == (seen - timedelta(hours=3),
                                                                   "feed")
    assert choose_date(seen + timedelta(days=3), page, seen) == (page, "page")
    epoch = datetime(1970, 1, 1, tzinfo=UTC)  # a CMS's "no date"
    assert choose_date(epoch, page, seen) == (page, "page")
    assert choose_date(epoch, epoch, seen) == (seen, "first_seen")


def test_no_reader_ever_sees_a_done_article_without_its_story(site, tmp_path, cli, database_url):
    """The daemon delivers while it polls: an article marked done before its story was set
    would be alerted as a story of its own, and a syndicated copy alerted twice."""
    import threading

    import sqlalchemy as sa

    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), database=database_url)
    seen, stop = [], threading.Event()

    def watch() -> None:
        engine = None
        while not stop.is_set():
            try:
                engine = engine or engine_of(config)
                with engine.connect() as db:
                    seen.extend(db.execute(sa.text(
                        "SELECT id FROM articles WHERE state = 'done' AND story_id IS NULL "
                        "AND source_id != 'seed'")).all())
            except (FileNotFoundError, sa.exc.OperationalError, sa.exc.ProgrammingError):
                pass  # not created yet
            stop.wait(0.002)
        if engine is not None:
            engine.dispose()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        code, _, err = cli("--config", str(config), "poll")
    finally:
        stop.set()
        watcher.join()
    assert code == 0, err
    assert query(config, "SELECT count(*) FROM articles WHERE state = 'done' AND source_id != "
                         "'seed'")[0][0] >= 10
    assert seen == []


def test_a_429_to_one_feed_postpones_the_hosts_other_feeds_without_failing_them(site, tmp_path,
                                                                                cli, database_url):
    """Retry-After pauses the host; its other feeds are not asked meanwhile, and that is no
    failure of theirs: no error, no "failing since", polled again when the pause ends."""
    serve_news_site(site)
    site.route("/limited", Reply(429, headers={"Retry-After": "600"}))
    sources = [{"id": "limited", "name": "L", "url": site.url("/limited")}]
    config = write_config(tmp_path, sources + news_sources(site, ["en-atom.xml"]), database=database_url)
    config.write_text(config.read_text().replace("per_host_concurrency = 4",
                                                 "per_host_concurrency = 1"))
    code, _, err = cli("--config", str(config), "poll")
    assert code == 0 and "1 waiting for their host" in err
    assert not site.hits("/feeds/en-atom.xml")
    status = {r[0]: r[1:] for r in query(
        config, "SELECT id, last_status, consecutive_errors, failing_since, next_poll_at "
                "FROM sources")}
    assert status["limited"][0] == "error: rate_limited" and status["limited"][1] == 1
    last_status, errors, failing_since, next_poll = status["en-atom"]
    assert last_status == "never polled" and errors == 0 and failing_since is None
    assert when(next_poll) >= FIXED_NOW + \
        timedelta(seconds=590)
    assert not [line for line in err.splitlines() if "WARNING" in line and "en-atom" in line]
