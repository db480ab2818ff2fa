"""Growing the archive from outside the feeds: `techwatch add` and `techwatch backfill`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conftest import ROOT, write_config
from newsite import MANIFEST, news_sources, query, serve_news_site
from sitesrv import Reply

from bot.backfill import parse_sitemap

BY_NAME = {a["name"]: a for a in MANIFEST["articles"]}
ALERTS = '[slack]\nalert_max_age_hours = 1000\n[[slack.alerts]]\nchannel = "C0ALERTS"\n' \
         "min_score = 0.3\n"


def test_add_archives_pages_once_and_reports_each_bad_url_in_one_line(site, tmp_path, cli):
    serve_news_site(site)
    site.route("/gone.html", Reply(404, b"<html><body>Not here</body></html>"))
    site.route("/menu.html", Reply(body=b"<html><body><ul><li><a href='/a'>Home</a></li></ul>"
                                        b"</body></html>", headers={"Content-Type": "text/html"}))
    config = write_config(tmp_path, [])
    en01, ja02 = BY_NAME["en-01"], BY_NAME["ja-02"]
    code, out, err = cli("--config", str(config), "add", site.url(en01["path"]),
                         site.url("/gone.html?token=xoxb-1234-5678-abcdefabcdef"),
                         "ftp://example.org/x", site.url("/menu.html"),
                         site.url(ja02["path"]) + "?utm_source=mail")
    assert code == 1 and "Traceback" not in err and "xoxb-" not in err  # never a token
    problems = err.strip().splitlines()
    assert len(problems) == 3 and "404" in problems[0] and "not an http(s) URL" in problems[1]
    assert "not an article" in problems[2]
    assert out.count("added: ") == 2 and en01["title"] in out and "relevant" in out
    rows = query(config, "SELECT title, origin, source_id, relevant, state FROM articles "
                         "WHERE source_id != 'seed' ORDER BY id")
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [  # titles from the pages
        (en01["title"], "added", "added", "done"),
        (ja02["title"].replace("\u3000", " "), "added", "added", "done")]
    assert all(r[3] == 1 for r in rows)  # both are US–Japan cooperation stories
    from bot.stories.events import terms
    for (title, lead), page in zip(query(config, "SELECT title, story_terms ->> '$.lead' FROM "
                                                 "articles WHERE source_id = 'added' ORDER BY id"),
                                   (en01, ja02), strict=True):
        words = json.loads(lead)  # grouped by the page's headline (counted twice), not its URL
        assert "utm" not in words and "html" not in words
        assert all(words[w] >= 2 for w in terms(title)), (page["name"], words)
    # idempotent: the same pages again (with other tracking parameters) add nothing
    code, out, _ = cli("--config", str(config), "add", site.url(en01["path"]) + "#top",
                       site.url(ja02["path"]).replace("http://", "HTTP://"))  # schemes: any case
    assert code == 0 and out.count("already archived: ") == 2
    assert query(config, "SELECT count(*) FROM articles WHERE source_id = 'added'")[0][0] == 2
    code, out, _ = cli("--config", str(config), "search", "Sendai", "--json")
    assert en01["title"] in out  # searchable under the page's own title


def serve_sitemaps(site, gone: bool = False) -> list[str]:
    """robots.txt naming a sitemap index, which nests another index; one path disallowed;
    `gone`: one listed page answers 404."""
    serve_news_site(site)
    recent = ["en-01", "en-02", "ja-01", "en-06"]
    urls = "".join(f"<url><loc>{site.url(BY_NAME[n]['path'])}</loc>"
                   f"<lastmod>2026-11-1{i}T09:00:00+09:00</lastmod></url>"
                   for i, n in enumerate(recent))
    if gone:
        site.route("/removed.html", Reply(404, b"<html><body>Not found</body></html>"))
        urls += f"<url><loc>{site.url('/removed.html')}</loc><lastmod>2026-11-15</lastmod></url>"
    urls += f"<url><loc>{site.url('/private/secret.html')}</loc></url>"
    urls += "<url><loc>http://127.0.0.2:9/elsewhere.html</loc></url>"  # another site's page
    old = (f"<url><loc>{site.url(BY_NAME['en-03']['path'])}</loc>"
           "<lastmod>2020-01-01</lastmod></url>")
    xml = {"Content-Type": "application/xml"}
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    site.route("/robots.txt", Reply(body=f"User-agent: *\nDisallow: /private/\n\nSitemap: "
                                         f"{site.url('/sitemap_index.xml')}\n".encode(),
                                    headers={"Content-Type": "text/plain"}))
    site.route("/sitemap_index.xml", Reply(body=(
        f'<?xml version="1.0"?><sitemapindex {ns}><sitemap><loc>{site.url("/sm/news.xml")}'
        f'</loc></sitemap><sitemap><loc>{site.url("/sm/archive-index.xml")}</loc></sitemap>'
        "</sitemapindex>").encode(), headers=xml))
    site.route("/sm/archive-index.xml", Reply(body=(
        f'<sitemapindex {ns}><sitemap><loc>/sm/2020.xml</loc></sitemap></sitemapindex>'
    ).encode(), headers=xml))
    site.route("/sm/news.xml", Reply(body=f"<urlset {ns}>{urls}</urlset>".encode(), headers=xml))
    site.route("/sm/2020.xml", Reply(body=f"<urlset {ns}>{old}</urlset>".encode(), headers=xml))
    site.route("/private/secret.html", Reply(body=b"<html>secret</html>"))
    return [site.url(BY_NAME[n]["path"]) for n in recent]


def test_backfill_follows_nested_sitemaps_honours_robots_and_since_and_never_alerts(
        site, tmp_path, cli, slack, token):
    expected = serve_sitemaps(site, gone=True)
    source = {"id": "site", "name": "Fixture site", "url": site.url("/feeds/en-rss2.xml")}
    config = write_config(tmp_path, [source], extra=ALERTS)
    code, out, err = cli("--config", str(config), "backfill", "--source", "site",
                         "--since", "2026-01-01")
    assert code == 0 and "Traceback" not in err, err
    assert "4 sitemaps read" in out and "1 disallowed by robots.txt" in out and "5 new" in out
    assert "1 on other sites skipped" in out
    # a listed page that is gone leaves no empty record in search, counts and exports
    assert "1 unreachable and not kept" in out and "removed.html: fetch: HTTP 404" in err
    archived = {r[0]: r for r in query(config, "SELECT url, origin, state, title FROM articles "
                                               "WHERE source_id = 'site'")}
    assert set(archived) == set(expected)  # not the 2020 page, not the disallowed one
    assert all(r[1] == "backfill" and r[2] == "done" for r in archived.values())
    assert archived[expected[0]][3] == BY_NAME["en-01"]["title"]  # the page's title
    assert site.hits("/private/secret.html") == [] and len(site.hits("/robots.txt")) == 1
    # backfilled coverage is archive, not news: no alert, no digest entry
    assert cli("--config", str(config), "run", "--once")[0] == 0
    alerted = " ".join(str(p.get("blocks")) for p in slack.posts("C0ALERTS"))
    assert not any(BY_NAME[n]["title"] in alerted for n in ("en-02", "ja-01"))
    # a second backfill reads only the indexes again and adds nothing
    code, out, _ = cli("--config", str(config), "backfill")
    assert code == 0 and "(2 done before)" in out and "0 new" in out
    assert len(site.hits("/sm/news.xml")) == 1


def test_a_killed_backfill_resumes_without_duplicates(site, tmp_path, cli):
    expected = serve_sitemaps(site)
    for url in expected:  # slow pages: the kill comes while they are being fetched
        path = url.removeprefix(site.base)
        site.route(path, Reply(body=site.fixture(path.lstrip("/")), delay=2.0,
                               headers={"Content-Type": "text/html; charset=utf-8"}))
    config = write_config(tmp_path, [{"id": "site", "name": "Site",
                                      "url": site.url("/feeds/en-rss2.xml")}])
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "backfill"],
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(site.hits(u.removeprefix(site.base)) for u in expected):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    pending = query(config, "SELECT count(*) FROM articles WHERE state = 'pending'")[0][0]
    assert pending >= 1  # the kill left work behind
    code, out, err = cli("--config", str(config), "backfill")
    assert code == 0, err
    rows = query(config, "SELECT url, state FROM articles WHERE source_id = 'site'")
    everything = [*expected, site.url(BY_NAME["en-03"]["path"])]  # no --since: 2020's too
    assert sorted(r[0] for r in rows) == sorted(everything)  # each once
    assert {r[1] for r in rows} == {"done"}
    assert len(site.hits("/sm/news.xml")) == 1  # the finished sitemap was not read again


def test_sitemap_parsing_is_safe_against_entities_and_reads_gzip():
    import gzip

    hostile = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
               b'<urlset><url><loc>http://a.example/&e;</loc></url>'
               b'<url><loc>http://a.example/ok</loc><lastmod>2026-11-01</lastmod></url></urlset>')
    nested, pages = parse_sitemap(gzip.compress(hostile))
    assert nested == [] and "root:" not in str(pages)
    assert ("http://a.example/ok", parse_sitemap(hostile)[1][-1][1]) in pages
    assert parse_sitemap(b"not xml at all") == ([], [])


def test_sources_add_finds_a_sites_feed_and_the_next_cycle_polls_it(site, tmp_path, cli):
    serve_news_site(site)
    site.route("/", Reply(body=b'<html><head><link rel="alternate" type="application/atom+xml" '
                               b'href="/feeds/en-atom.xml"></head><body>Home</body></html>',
                          headers={"Content-Type": "text/html"}))
    config = write_config(tmp_path, [])
    code, out, err = cli("--config", str(config), "sources", "add", site.url("/"))
    assert code == 0, err
    assert site.url("/feeds/en-atom.xml") in out and "atom10" in out
    (source_id, origin), = query(config, "SELECT id, origin FROM sources WHERE origin = 'added'")
    code, _, err = cli("--config", str(config), "sources", "add", site.url("/feeds/en-atom.xml"))
    assert code == 1 and "is a source already" in err
    code, _, err = cli("--config", str(config), "sources", "add",
                       site.url("/feeds/en-atom.xml?utm_source=x#top"))  # the same feed
    assert code == 1 and f"is a source already ({source_id})" in err
    code, out, _ = cli("--config", str(config), "sources", "check")
    assert source_id in out  # a source added at run time is checked too
    code, _, err = cli("--config", str(config), "sources", "disable", "added")
    assert code == 1 and "no source 'added'" in err and source_id in err
    site.route("/plain.html", Reply(body=b"<html><body><p>No feed here.</p></body></html>",
                                    headers={"Content-Type": "text/html"}))
    code, _, err = cli("--config", str(config), "sources", "add", "not a url")
    assert code == 1 and "sources add: not a URL: 'not a url'" in err  # not "cannot resolve"
    code, _, err = cli("--config", str(config), "sources", "add", site.url("/plain.html"))
    assert code == 1 and "no feed found" in err and "Traceback" not in err
    assert cli("--config", str(config), "run", "--once")[0] == 0
    polled = query(config, "SELECT count(*) FROM articles WHERE source_id = ?", source_id)[0][0]
    assert polled >= 3 and len(site.hits("/feeds/en-atom.xml")) >= 2  # checked, then polled


def test_sources_suggest_lists_sites_relevant_coverage_links_to_and_finds_their_feed(
        site, tmp_path, cli):
    serve_news_site(site)
    port = site.base.rsplit(":", 1)[1]
    other = f"localhost:{port}"  # another site name for the same local server
    page = site.fixture("articles/en-01.html").replace(
        b"</p>", f' <a href="http://{other}/report.html">the ministry report</a></p>'.encode(), 1)
    site.route("/articles/en-01.html", Reply(body=page, headers={
        "Content-Type": "text/html; charset=utf-8"}))
    site.route("/", Reply(body=b'<html><head><link rel="alternate" type="application/rss+xml" '
                               b'href="/feeds/en-rss2.xml"></head></html>',
                          headers={"Content-Type": "text/html"}))
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]))
    assert cli("--config", str(config), "run", "--once")[0] == 0
    code, out, err = cli("--config", str(config), "sources", "suggest", "--find-feeds")
    assert code == 0, err
    line = next(x for x in out.splitlines() if other in x)
    assert "│ 1 " in line or " 1 " in line  # one relevant article links to it
    assert "127.0.0.1" not in out.split("Add one with")[0].replace(site.base, "")  # not a source
    assert f"techwatch sources add http://{other}/feeds/en-rss2.xml" in out


def test_a_corrupt_or_bombing_gzip_sitemap_is_skipped_not_a_crash():
    import gzip

    assert parse_sitemap(b"\x1f\x8b\x08\x00garbage") == ([], [])
    bomb = gzip.compress(b"<urlset>" + b" " * (60 * 1024 * 1024) + b"</urlset>")
    assert parse_sitemap(bomb) == ([], [])  # cut at 50 MB: no page, and no 60 MB in memory


def test_a_mixed_feed_is_english_when_most_items_are_and_each_item_keeps_its_language(
        site, tmp_path, cli):
    """One Japanese headline does not make a feed Japanese; and in a feed declared Japanese an
    English item is read as English (a Japanese text takes Japan for granted, an English one
    must name it), also when only its summary is known (its page is gone)."""
    items = [("Commerce Department and Intel sign chip research partnership",
              "The US Commerce Department and Intel agreed to fund advanced chip research."),
             ("Ford recalls pickup trucks", "Ford is recalling 40,000 trucks over a brake fault."),
             ("Apple opens a store in Austin", "Apple opened its third store in Texas."),
             ("日米、量子技術で協力", "日米両政府は量子技術の共同研究で協力すると発表した。")]
    feed = "".join(f"<item><title>{t}</title><link>{site.url(f'/gone/{i}')}</link>"
                   f"<description>{d}</description></item>" for i, (t, d) in enumerate(items))
    site.route("/mixed.xml", Reply(body=f'<rss version="2.0"><channel><title>Mixed</title>{feed}'
                                        f"</channel></rss>".encode(),
                                   headers={"Content-Type": "application/rss+xml; charset=utf-8"}))
    config = write_config(tmp_path, [])
    code, out, err = cli("--config", str(config), "sources", "add", site.url("/mixed.xml"))
    assert code == 0 and ", en)" in out, (out, err)
    config = write_config(tmp_path / "declared", [{"id": "mixed", "name": "Mixed", "lang": "ja",
                                                   "url": site.url("/mixed.xml")}])
    assert cli("--config", str(config), "run", "--once")[0] == 0
    rows = dict(query(config, "SELECT title, lang || ' ' || relevant FROM articles "
                              "WHERE source_id = 'mixed'"))
    assert rows[items[0][0]] == "en 0" and rows[items[3][0]] == "ja 1", rows
