"""OPML: `techwatch sources import FILE.opml` and `techwatch sources export --format opml`, with
files in the shapes common readers write (tests/fixtures/opml), feeds from a local server."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import write_config
from newsite import query, serve_news_site
from sitesrv import Reply, Site

from bot.feeds.opml import (
    MAX_OPML_BYTES,
    NotOpml,
    OpmlFeed,
    feed_address,
    plan_import,
    read_opml,
    render_opml,
)

OPML = Path(__file__).parent / "fixtures" / "opml"
WHEN = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def rss(site: Site, title: str, items: list[str]) -> bytes:
    entries = "".join(f"<item><title>{t}</title><link>{site.url(f'/gone/{i}')}</link></item>"
                      for i, t in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}'
            f"</title>{entries}</channel></rss>").encode()


def serve_feeds(site: Site) -> None:
    """The fixture news site's feeds, a few more, a site page announcing its Atom feed."""
    serve_news_site(site)
    english = ["Chip makers expand in Arizona", "A new battery plant opens", "Robots at the port"]
    for path, title, items in (
            ("/r/chips.xml", "Chips Daily (feed title)", english),
            ("/r/policy.xml", "Policy Notes", english),
            ("/r/gadgets.xml", "Gadgets", english),
            ("/r/space.xml", "Space Desk", ["Launch delayed by weather", "A rover finds ice"]),
            ("/r/nihongo.xml", "ニュース速報",
             ["日米が半導体で協力へ", "新しい電池工場が稼働", "量子コンピューターの研究が進む"])):
        site.route(path, Reply(body=rss(site, title, items),
                               headers={"Content-Type": "application/rss+xml; charset=utf-8"}))
    site.route("/blog/", Reply(body=b'<html><head><link rel="alternate" type="application/atom+xml"'
                                    b' href="/feeds/en-atom.xml"></head><body>Blog</body></html>',
                               headers={"Content-Type": "text/html"}))


def fixture(site: Site, name: str, directory: Path) -> Path:
    """A fixture OPML file pointing at the local server, written to `directory`."""
    path = directory / name
    path.write_bytes((OPML / name).read_bytes().replace(b"{BASE}", site.base.encode()))
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if needle in line)


def added(config: Path) -> set[tuple]:
    return set(query(config, "SELECT url, name, lang, note FROM sources WHERE origin = 'added'"))


# --- reading, planning, writing (no network, no archive) ------------------------------------

def test_feedly_folders_become_categories_and_titles_keep_their_script():
    feeds = read_opml((OPML / "feedly.opml").read_bytes())
    assert [(f.title, f.category) for f in feeds] == [
        ("Pacific Wire — Technology", "Tech"), ("Chips Daily", "Tech"),
        ("テック経済新報　テクノロジー", "日本語ニュース")]
    assert feeds[0].url == "{BASE}/feeds/en-rss2.xml"
    assert feeds[0].html_url == "{BASE}/articles/section.html" and feeds[2].line == 12


def test_nested_folders_are_a_path_and_an_empty_html_url_is_none():
    feeds = read_opml((OPML / "netnewswire.opml").read_bytes())
    assert [(f.title, f.category, f.html_url, f.line) for f in feeds] == [
        ("Policy Notes", "Policy/Japan", "{BASE}/policy/", 10), ("Gadgets", "", None, 13)]


def test_outlines_without_titles_a_category_attribute_and_a_language():
    feeds = read_opml((OPML / "handmade.opml").read_bytes())
    assert len(feeds) == 7  # the type="link" outline has no xmlUrl: not a feed
    assert feeds[0].title == "" and feeds[0].lang is None and feeds[0].category == ""
    assert (feeds[1].title, feeds[1].lang, feeds[1].category) == (
        "Space Desk", "ja", "Science/Space, Favourites")
    only_text = read_opml(b'<opml><body><outline text="Only text" xmlurl="https://a.example/f"/>'
                          b'<outline title="Only title" xmlUrl="https://b.example/f"/></body></opml>')
    assert [(f.title, f.url) for f in only_text] == [("Only text", "https://a.example/f"),
                                                     ("Only title", "https://b.example/f")]


def test_what_is_not_opml_is_one_line_saying_what_it_is():
    cases = {
        "not-opml.html": "the document is <html>, not <opml>",
        "truncated.opml": "line 8: not well-formed XML (AttValue: ' expected)",
    }
    for name, expected in cases.items():
        with pytest.raises(NotOpml, match=re.escape(expected)):
            read_opml((OPML / name).read_bytes())
    feed = (Path(__file__).parent / "fixtures" / "site" / "feeds" / "en-rss2.xml").read_bytes()
    with pytest.raises(NotOpml, match="<rss>, not <opml>"):  # a feed given instead of a list
        read_opml(feed)
    with pytest.raises(NotOpml, match="line 1"):
        read_opml(b"")
    with pytest.raises(NotOpml, match="no <body>"):
        read_opml(b"<opml version='2.0'><head/></opml>")
    with pytest.raises(NotOpml, match="larger than 10 MB"):
        read_opml(b"<opml><body>" + b" " * MAX_OPML_BYTES + b"</body></opml>")


def test_entities_are_not_expanded_and_no_file_is_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY s SYSTEM "file://{secret}">]>'
           '<opml><body><outline text="a&s;b" xmlUrl="https://a.example/f"/></body></opml>')
    with pytest.raises(NotOpml, match="external entity"):  # refused, not read
        read_opml(xxe.encode())
    in_text = xxe.replace('text="a&s;b" ', "").replace("</body>", "<title>&s;</title></body>")
    assert "TOP-SECRET" not in repr(read_opml(in_text.encode()))
    laughs = ('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
              + "".join(f'<!ENTITY {x} "&{y};&{y};&{y};&{y};&{y};&{y};&{y};&{y};&{y};&{y};">'
                        for x, y in zip("bcdefghi", "abcdefgh", strict=True))
              + ']><opml><body><outline text="&i;" xmlUrl="https://a.example/f"/></body></opml>')
    try:
        feeds = read_opml(laughs.encode())
    except NotOpml:
        return  # refused: as good
    assert len(feeds[0].title) < 1000  # not the billion a's


def test_feed_addresses_as_sources_add_takes_them():
    assert feed_address(" https://example.com/feed ") == "https://example.com/feed"
    assert feed_address("example.com/rss") == "https://example.com/rss"
    assert feed_address("localhost:8080/rss") == "https://localhost:8080/rss"
    assert feed_address("feed://example.com/rss") == "http://example.com/rss"
    assert feed_address("feed:https://example.com/rss") == "https://example.com/rss"
    assert feed_address("http://[::1]:8080/rss") == "http://[::1]:8080/rss"
    for bad, why in (("ftp://ftp.example.com/feed.xml", "not http or https (ftp:)"),
                     ("not a url", "not a URL"), ("", "not a URL"),
                     ("mailto:me@example.com", "not http or https (mailto:)"),
                     ("https://example.com:port/feed", "not a URL (bad port)"),
                     ("https:///feed", "not a URL (no host)"),
                     ("http://exa<mple>.com/", "not a URL (no host)")):
        with pytest.raises(ValueError) as refused:
            feed_address(bad)
        assert str(refused.value) == why


def test_the_plan_skips_bad_addresses_known_sources_and_repeats_saying_which():
    feeds = [OpmlFeed("https://a.example/feed", line=3), OpmlFeed("ftp://x.example/f", line=4),
             OpmlFeed("https://A.example/feed?utm_source=rss#top", line=5),
             OpmlFeed("https://known.example/rss", line=6), OpmlFeed("b.example/feed", line=7)]
    steps = plan_import(feeds, {"https://known.example/rss": "source known"})
    assert [(s.url, s.skip, s.duplicate) for s in steps] == [
        ("https://a.example/feed", None, False),
        (None, "not http or https (ftp:): 'ftp://x.example/f'", False),
        (None, "repeats line 3", True),
        (None, "already source known", True),
        ("https://b.example/feed", None, False)]


def test_written_opml_reads_back_the_same_feeds():
    feeds = [OpmlFeed("https://a.example/feed?x=1&y=2", "Tom & Jerry <news> \"daily\"", "", "en"),
             OpmlFeed("https://b.example/rss", "テック経済新報", "日本語/テクノロジー", "ja"),
             OpmlFeed("https://c.example/rss", "Space", "Science/Space, Favourites", "en"),
             OpmlFeed("https://d.example/rss", "Bell\x07 in title", "Science", "en")]
    data = render_opml(feeds, title="techwatch sources", created=WHEN)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<opml version=\"2.0\">")
    assert b"<dateCreated>Sun, 22 Nov 2026 12:00:00 GMT</dateCreated>" in data
    assert b'type="rss"' in data and "テック経済新報".encode() in data
    back = read_opml(data)
    assert [(f.url, f.title, f.category, f.lang) for f in back] == [
        (f.url, f.title.replace("\x07", ""), f.category, f.lang) for f in feeds]
    science = data.index(b'text="Science"')  # one folder for the two feeds in Science
    assert data.count(b'text="Science"') == 1 and data.index(b'"Bell in title"') > science


# --- the commands ------------------------------------------------------------------------------

def test_import_reader_exports_reports_each_skip_in_one_line_and_imports_the_rest(
        site, tmp_path, cli):
    serve_feeds(site)
    config = write_config(tmp_path / "cfg", [{"id": "wire", "name": "Pacific Wire", "lang": "en",
                                              "url": site.url("/feeds/en-rss2.xml")}])
    feedly = fixture(site, "feedly.opml", tmp_path)
    code, out, err = cli("--config", str(config), "sources", "import", str(feedly))
    assert code == 0, err
    assert err.splitlines() == [  # the config's feed: one line saying where and what
        f"techwatch: sources import: {feedly}:8: \"Pacific Wire — Technology\" skipped: "
        "already source wire"]
    assert out.splitlines()[-1] == "2 imported, 1 skipped (1 known already); polled from the next cycle"
    assert added(config) == {
        (site.url("/r/chips.xml"), "Chips Daily", "en", "Tech"),
        (site.url("/feeds/ja-rss1-sjis.rdf"), "テック経済新報　テクノロジー", "ja", "日本語ニュース")}

    handmade = fixture(site, "handmade.opml", tmp_path)
    code, out, err = cli("--config", str(config), "sources", "import", str(handmade))
    assert code == 0, err
    lines = err.splitlines()
    assert len(lines) == 5 and "Traceback" not in err
    expected = {"r/chips.xml?utm_source": "\"Chips Daily again\" skipped: already source",
                "ftp://": "\"Old FTP mirror\" skipped: not http or https (ftp:): 'ftp://ftp.",
                "not a url": "\"Scribble\" skipped: not a URL: 'not a url'",
                "r/missing.xml": "\"Gone Away\" skipped: source: http://127.0.0.1",
                "space.xml#latest": "\"Space Desk, twice\" skipped: repeats line 9"}
    for needle, message in expected.items():
        where = f"techwatch: sources import: {handmade}:{line_of(handmade, needle)}: "
        assert any(line.startswith(where + message) for line in lines), (where + message, lines)
    assert "404" in next(line for line in lines if "Gone Away" in line)
    assert out.splitlines()[-1] == ("2 imported, 5 skipped (2 known already); "
                                    "polled from the next cycle")
    sources = {row[0]: row[1:] for row in added(config)}
    # no title: the feed's; no language: guessed from the items (Japanese)
    assert sources[site.url("/feeds/ja-eucjp-undeclared.xml")] == ("テック経済新報　政治・国際",
                                                                   "ja", None)
    # the outline's language wins over the items' (English)
    assert sources[site.url("/r/space.xml")] == ("Space Desk", "ja", "Science/Space, Favourites")

    inoreader = fixture(site, "inoreader.opml", tmp_path)
    code, out, err = cli("--config", str(config), "sources", "import", str(inoreader))
    assert code == 0, err
    # the blog announces the Atom feed, which the next line names again
    assert f"{inoreader}:9: \"Pacific Wire (Atom)\" skipped: already source" in err
    assert "imported source" in out and site.url("/feeds/en-atom.xml") in out
    assert out.splitlines()[-1].startswith("2 imported, 1 skipped")
    names = {row[1] for row in added(config)}
    assert {"ニュース速報", "Wire Blog"} <= names

    code, out, err = cli("--config", str(config), "sources", "import", str(inoreader))
    assert code == 0 and out.strip() == "0 imported, 3 skipped (3 known already)", (out, err)
    assert len(err.splitlines()) == 3
    assert cli("--config", str(config), "run", "--once")[0] == 0  # and they are polled
    polled = query(config, "SELECT count(*) FROM sources WHERE origin = 'added' AND "
                           "last_success_at IS NOT NULL")[0][0]
    assert polled == len(added(config)) == 6


def test_import_export_import_gives_the_same_sources(site, tmp_path, cli, database_url,
                                                     more_databases):
    serve_feeds(site)
    config = write_config(tmp_path / "one", [{"id": "wire", "name": "Pacific Wire", "lang": "en",
                                              "url": site.url("/feeds/en-rss2.xml")},
                                             {"id": "off", "name": "Off", "lang": "en",
                                              "url": site.url("/r/off.xml"), "enabled": False}],
                          database=database_url)
    for name in ("feedly.opml", "netnewswire.opml", "handmade.opml"):
        assert cli("--config", str(config), "sources", "import",
                   str(fixture(site, name, tmp_path)))[0] == 0
    first = added(config)
    assert len(first) == 6 and ("Policy Notes" in {r[1] for r in first})
    assert (site.url("/r/policy.xml"), "Policy Notes", "en", "Policy/Japan") in first

    code, out, err = cli("--config", str(config), "sources", "export")  # stdout, opml
    assert code == 0, err
    exported = read_opml(out.encode("utf-8"))
    urls = [f.url for f in exported]
    assert site.url("/feeds/en-rss2.xml") in urls and site.url("/r/off.xml") not in urls
    assert len(urls) == 7 and out.startswith("<?xml")
    target = tmp_path / "out" / "sources.opml"
    target.parent.mkdir()
    code, out, err = cli("--config", str(config), "sources", "export", "--format", "opml",
                         "-o", str(target))
    assert code == 0 and out == "" and "7 sources written" in err
    assert read_opml(target.read_bytes()) == exported

    fresh = write_config(tmp_path / "two", [], database=more_databases())
    code, out, err = cli("--config", str(fresh), "sources", "import", str(target))
    assert code == 0 and err == "", err
    assert out.splitlines()[-1].startswith("7 imported, 0 skipped")
    again = added(fresh)
    config_source = (site.url("/feeds/en-rss2.xml"), "Pacific Wire", "en", None)
    assert again == first | {config_source}
    code, out, _ = cli("--config", str(fresh), "sources", "export", "-o", str(target))
    assert code == 0
    assert {(f.url, f.title, f.category, f.lang) for f in read_opml(target.read_bytes())} == \
        {(f.url, f.title, f.category, f.lang) for f in exported}


def test_a_file_that_is_not_opml_or_not_there_is_one_line_and_a_failure(site, tmp_path, cli):
    config = write_config(tmp_path, [])
    for name, message in (("not-opml.html", "the document is <html>, not <opml>"),
                          ("truncated.opml", "line 8: not well-formed XML")):
        path = OPML / name
        code, out, err = cli("--config", str(config), "sources", "import", str(path))
        assert code == 1 and out == "" and "Traceback" not in err
        assert err.startswith(f"techwatch: sources import: {path}: not OPML: ") and message in err
        assert len(err.splitlines()) == 1
    code, _, err = cli("--config", str(config), "sources", "import", str(tmp_path / "none.opml"))
    assert code == 1 and "cannot read" in err and "No such file" in err
    empty = tmp_path / "empty.opml"
    empty.write_text("<opml version='2.0'><head/><body/></opml>", encoding="utf-8")
    code, out, err = cli("--config", str(config), "sources", "import", str(empty))
    assert code == 0 and "no feed in it" in err and out.strip() == "0 imported, 0 skipped"


def test_nothing_imported_but_mistakes_is_a_failure(site, tmp_path, cli):
    serve_feeds(site)
    config = write_config(tmp_path, [])
    bad = tmp_path / "bad.opml"
    bad.write_text('<opml><body><outline text="ftp" xmlUrl="ftp://x.example/f"/>'
                   f'<outline text="gone" xmlUrl="{site.url("/r/missing.xml")}"/></body></opml>',
                   encoding="utf-8")
    code, out, err = cli("--config", str(config), "sources", "import", str(bad))
    assert code == 1 and out.strip() == "0 imported, 2 skipped" and len(err.splitlines()) == 2
    assert added(config) == set()


def test_sources_add_takes_addresses_by_the_same_rule(site, tmp_path, cli):
    config = write_config(tmp_path, [])
    code, _, err = cli("--config", str(config), "sources", "add", "ftp://ftp.example.com/feed")
    assert code == 1 and "sources add: not a URL: 'ftp://ftp.example.com/feed' (not http or " \
                         "https (ftp:)" in err
    serve_feeds(site)
    feed = site.url("/r/chips.xml").replace("http://", "feed://")
    code, out, err = cli("--config", str(config), "sources", "add", feed)
    assert code == 0 and site.url("/r/chips.xml") in out, err
