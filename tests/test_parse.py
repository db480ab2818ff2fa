"""Feed parsing on our own fixture feeds (golden expectations in MANIFEST.toml) and on the real
feeds of ../shared/corpus/feeds."""

import re
import tomllib

import pytest
from conftest import need_corpus
from sitesrv import FIXTURES

from bot.errors import ParseError
from bot.feeds.parse import parse_feed

MANIFEST = tomllib.loads((FIXTURES / "MANIFEST.toml").read_text(encoding="utf-8"))
BASE = "http://127.0.0.1:8000"
TITLES = {a["path"]: a["title"] for a in MANIFEST["articles"] if a["kind"] == "article"}


def load(name: str) -> bytes:
    return (FIXTURES / "feeds" / name).read_bytes().replace(b"{BASE}", BASE.encode())


@pytest.mark.parametrize("feed", [f for f in MANIFEST["feeds"] if f.get("wellformed", True)],
                         ids=lambda f: f["name"])
def test_fixture_feeds_in_each_format_and_encoding(feed):
    parsed = parse_feed(load(feed["path"].split("/")[-1]), {"content-type": "application/xml"},
                        BASE + feed["path"])
    assert parsed.format == feed["format"]
    assert [e.link.split("?")[0] for e in parsed.entries] == [BASE + p for p in feed["links"]]
    for entry, path in zip(parsed.entries, feed["links"], strict=True):
        if TITLES.get(path):
            assert entry.title == TITLES[path]  # right encoding: Japanese titles intact
        assert entry.published is not None and entry.published.tzinfo is not None
    assert parsed.warning is None


def test_undeclared_euc_jp_is_sniffed_not_read_as_windows_1252():
    parsed = parse_feed(load("ja-eucjp-undeclared.xml"), {"content-type": "text/xml"}, BASE)
    assert re.search(r"[\u3040-\u30ff]", parsed.entries[0].title)


def test_http_charset_header_wins():
    body = load("ja-eucjp-undeclared.xml")
    parsed = parse_feed(body, {"content-type": "application/rss+xml; charset=EUC-JP"}, BASE)
    assert parsed.entries[0].title == TITLES["/articles/ja-04.html"]


def test_truncated_feed_yields_what_it_can_with_a_warning():
    parsed = parse_feed(load("broken-truncated.xml"), {}, BASE)
    assert len(parsed.entries) >= 3
    assert parsed.warning and parsed.warning.startswith("malformed feed")


@pytest.mark.parametrize(("body", "message"), [
    (b"<!doctype html><html><body><h1>Welcome</h1></body></html>",
     r"got an HTML page \(text/html\), not a feed$"),
    (b'<!doctype html><html><head><link rel="alternate" type="application/rss+xml" '
     b'href="/news/rss.xml"></head><body>Welcome</body></html>',
     r"not a feed; it names the feed http://127\.0\.0\.1:8000/news/rss\.xml \(set that"),
    (b'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title><item><title>A',
     "malformed feed, no item readable"),  # cut off before its first item ends
    (b"", "empty response"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a feed"),
])
def test_non_feeds_are_a_parse_error(body, message):
    with pytest.raises(ParseError, match=message):
        parse_feed(body, {"content-type": "text/html"}, BASE)


def test_ttl_and_relative_links():
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><ttl>90</ttl>'
            b"<item><title>A</title><link>/a/1</link><description>&lt;p&gt;Hi &amp;amp; "
            b"bye&lt;/p&gt;</description></item></channel></rss>")
    parsed = parse_feed(body, {}, "https://news.example.com/feed.xml")
    assert parsed.ttl_minutes == 90
    assert parsed.entries[0].link == "https://news.example.com/a/1"
    assert parsed.entries[0].summary == "Hi & bye"


def _corpus_index() -> dict[str, tuple[str, int]]:
    index = need_corpus("feeds", "INDEX.md").read_text(encoding="utf-8")
    rows = {}
    for line in index.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 8 and cells[1].startswith("`") and cells[6].isdigit():
            rows[cells[1].strip("`")] = (cells[3], int(cells[6]))
    return rows


def test_every_real_corpus_feed_parses_with_its_items():
    rows = _corpus_index()
    assert len(rows) >= 36
    for name, (lang, items) in rows.items():
        path = need_corpus("feeds", name)
        parsed = parse_feed(path.read_bytes(), {}, "https://example.org/feed")
        # items without a link or GUID are still kept (summary-only), so counts match
        assert len(parsed.entries) >= items - 1, name
        if lang == "ja":
            text = " ".join(e.title + e.summary for e in parsed.entries)
            assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), f"{name}: mojibake"
            assert "\ufffd" not in text and "ã" not in text, f"{name}: mojibake"


def test_undeclared_latin1_feeds_keep_their_accents():
    """charset_normalizer guesses Central European or Baltic for a few accents of Portuguese
    or French; undeclared Latin-script bytes are read as windows-1252, as browsers do."""
    expected = {"rssparser__uol-noticias_undeclared-latin1.rss": "simulações de 2º turno",
                "miniflux__cercle-psy_undeclared-latin1.xml": "liée surtout à"}
    for name, phrase in expected.items():
        parsed = parse_feed(need_corpus("feeds", name).read_bytes(), {}, BASE)
        titles = " ".join(e.title for e in parsed.entries)
        assert phrase in titles and not re.search("[őşăčŕ]", titles), (name, titles[:200])


def test_bare_guids_are_not_links_and_links_resolve_against_the_feed():
    body = (b'<rss version="2.0"><channel><title>t</title>'
            b"<item><title>A</title><guid>12345</guid></item>"
            b"<item><title>B</title><link>/b</link></item>"
            b"<item><title>C</title><guid>https://x.com/c</guid></item>"
            b"<item><title>D &#27;[31mred</title><link>http://</link></item></channel></rss>")
    entries = parse_feed(body, {}, "https://feedhost/feed.xml").entries
    assert [e.link for e in entries] == ["", "https://feedhost/b", "https://x.com/c", ""]
    assert entries[3].title == "D [31mred"  # the escape character is gone


def test_links_and_titles_cannot_carry_escapes_line_breaks_or_bidi_overrides():
    body = ("<rss version='2.0'><channel><title>t\u202e</title>"
            "<item><title>US-Japan \u202eevil\u202c \u2066isolate\u2069 deal</title>"
            "<link>http://127.0.0.1/a/e&#27;[2J&#27;[31mRED.html</link></item>"
            "<item><title>B</title><link>http://127.0.0.1/a/r\u202egnp.exe</link></item>"
            "<item><title>C</title><link>http://127.0.0.1/nl.html&#10;2026-01-01 INFO cycle done"
            "</link></item></channel></rss>").encode()
    feed = parse_feed(body, {}, "http://127.0.0.1/feed.xml")
    first, second, third = feed.entries
    assert first.title == "US-Japan evil isolate deal" and feed.title == "t"
    assert first.link == "http://127.0.0.1/a/e%1B[2J%1B[31mRED.html"
    assert second.link == "http://127.0.0.1/a/r%E2%80%AEgnp.exe"
    assert "\n" not in third.link and " " not in third.link and third.link.startswith(
        "http://127.0.0.1/nl.html")


@pytest.mark.parametrize("served", ["text/plain; charset=iso-8859-1",
                                    "application/rss+xml; charset=ISO-8859-1",
                                    "application/xml; charset=windows-1252"])
def test_a_japanese_feed_under_a_servers_default_latin_charset_is_read_as_japanese(served):
    """Apache's AddDefaultCharset: Latin-1 decodes any bytes, so it proves nothing."""
    feed = ("<rss version='2.0'><channel><title>日米ニュース</title>"
            + "".join(f"<item><title>日米が量子技術で協力 第{i}報</title><link>http://x/{i}</link>"
                      "</item>" for i in range(5)) + "</channel></rss>")
    for codec in ("euc_jp", "shift_jis"):
        entries = parse_feed(feed.encode(codec), {"content-type": served}, "http://x/f").entries
        assert entries[0].title == "日米が量子技術で協力 第0報", (codec, served)
    declared = f"<?xml version='1.0' encoding='EUC-JP'?>{feed}".encode("euc_jp")
    entries = parse_feed(declared, {"content-type": served}, "http://x/f").entries
    assert entries[1].title == "日米が量子技術で協力 第1報"  # the feed's own declaration
    latin = ("<rss version='2.0'><channel><title>Notícias</title><item><title>Simulações de 2º "
             "turno</title><link>http://x/1</link></item></channel></rss>").encode("latin-1")
    entries = parse_feed(latin, {"content-type": served}, "http://x/f").entries
    assert entries[0].title == "Simulações de 2º turno"  # a Latin feed keeps its header


def test_a_body_not_in_its_declared_encoding_is_sniffed():
    feed = ("<?xml version='1.0'?><rss version='2.0'><channel><title>日米ニュース</title>"
            + "".join(f"<item><title>日米が量子技術で協力 第{i}報</title><link>http://x/{i}</link>"
                      "</item>" for i in range(5)) + "</channel></rss>")
    sjis = feed.encode("shift_jis")
    entries = parse_feed(sjis, {"content-type": "application/rss+xml; charset=utf-8"},
                         "http://x/feed").entries  # served as UTF-8, written in Shift_JIS
    assert [e.title for e in entries][:2] == ["日米が量子技術で協力 第0報", "日米が量子技術で協力 第1報"]
    latin = parse_feed(feed.encode(), {"content-type": "text/xml; charset=iso-8859-1"},
                       "http://x/feed")  # UTF-8 served as Latin-1
    assert latin.entries[0].title == "日米が量子技術で協力 第0報"


def test_one_guid_on_items_with_different_links_identifies_none_of_them():
    body = (b"<rss version='2.0'><channel><title>t</title>"
            b"<item><title>A</title><guid>dup</guid><link>http://x/a</link></item>"
            b"<item><title>B</title><guid>dup</guid><link>http://x/b</link></item>"
            b"<item><title>C</title><guid>ok</guid><link>http://x/c</link></item>"
            b"<item><title>C again</title><guid>ok</guid><link>http://x/c</link></item>"
            b"</channel></rss>")
    entries = parse_feed(body, {}, "http://x/feed").entries
    assert [(e.link, e.guid, e.title) for e in entries] == [  # one link: its first item
        ("http://x/a", None, "A"), ("http://x/b", None, "B"), ("http://x/c", "ok", "C")]


def test_a_stray_second_item_with_a_known_link_does_not_overwrite_the_first():
    body = ("<rss version='2.0'><channel><title>t</title>"
            "<item><title>量子技術で日米協力</title><guid>1</guid><link>http://x/a</link>"
            "<description>日米両政府は量子技術で協力する。</description></item>"
            "<item><title>Other</title><guid>2</guid><link>http://x/b</link></item>"
            "<item><title>1-</title><guid>3</guid><link>http://x/a</link></item>"
            "</channel></rss>").encode()
    entries = parse_feed(body, {"content-type": "application/rss+xml; charset=utf-8"},
                         "http://x/feed").entries
    assert [(e.title, e.summary) for e in entries] == [
        ("量子技術で日米協力", "日米両政府は量子技術で協力する。"), ("Other", "")]


def test_a_summary_that_different_items_share_is_boilerplate_and_dropped():
    teaser = "Subscribe to read the full story on our website."
    items = "".join(f"<item><title>{t}</title><link>http://x/{i}</link>"
                    f"<description>{d}</description></item>"
                    for i, (t, d) in enumerate([("Rapidus and IBM extend 2nm deal", teaser),
                                                ("NASA and JAXA set rover date", teaser),
                                                ("Micron expands Hiroshima fab", "Micron will "
                                                 "add a production line in Hiroshima.")]))
    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    entries = parse_feed(body, {}, "http://x/feed").entries
    assert [e.summary for e in entries] == ["", "", "Micron will add a production line in "
                                                    "Hiroshima."]
