"""The one module that talks to feedparser: bytes + response headers -> ParsedFeed.

feedparser is given the bytes and the HTTP headers (never a URL, so it never fetches), which lets
it honour the charset of the Content-Type header and sniff undeclared Shift_JIS or EUC-JP.
Every step is linear in the body (up to 10 MB of untrusted bytes): no pattern here can backtrack
over the body, and the two shapes that make feedparser quadratic are refused before it runs.
"""

from __future__ import annotations

import calendar
import codecs
import html
import re
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import feedparser
from lxml import etree

from bot.errors import ParseError
from bot.models import FeedEntry, ParsedFeed
from bot.untrusted import CONTROL, safe_link

TAG = re.compile(r"<[^<>]+>")  # not [^>]: from each "<" of "<<<<..." it would scan to the end
XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>", re.I)
XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
# single-byte code pages of Latin-script languages: on a feed's few accented letters
# charset_normalizer may pick Baltic or Central European for Portuguese or French
LATIN_CODE_PAGES = {"latin_1", "cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "cp437", "cp775",
                    "cp850", "cp858", "mac_roman", "mac_latin2", "iso8859_2", "iso8859_3",
                    "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14",
                    "iso8859_15", "iso8859_16"}
# multi-byte encodings whose bytes rarely decode by chance: a sniff that finds one is believed
CJK_CODECS = {"shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213", "euc_jp", "euc_jis_2004",
              "euc_jisx0213", "iso2022_jp", "gb2312", "gbk", "gb18030", "big5", "big5hkscs",
              "euc_kr", "cp949"}
SPACE = re.compile(r"[ \t\r\n\f\v]+")  # ASCII only: keep the ideographic space of JA titles
# feedparser's strict parser is quadratic in the attributes of one element (xml.sax looks each
# up by a linear scan) and in the namespace prefixes a feed declares (it scans them all for each
# namespaced element): 10 MB of either takes hours. No feed needs more than a few dozen of either.
MAX_ATTRIBUTES = 64
MAX_PREFIXES = 64
LONG_TAG = re.compile(rb"<[^<>!?/\s][^<>]{%d,}" % (4 * MAX_ATTRIBUTES))  # room for that many
PREFIX = re.compile(rb"xmlns:([^\s=<>/:\"']*)")  # stops at the next ":", so no rescanning
# UTF-16 and UTF-32 without a byte order mark, recognised by their "<" (XML 1.0 appendix F)
WIDE = {b"\x00\x00\x00<": "utf-32-be", b"<\x00\x00\x00": "utf-32-le",
        b"\x00<\x00?": "utf-16-be", b"<\x00?\x00": "utf-16-le"}
# a leading doctype, cut before trafilatura sees the page: on a long unclosed first line its own
# doctype pattern backtracks quadratically (10 MB: days, holding the GIL)
DOCTYPE = re.compile(r"\s*<\s*!\s*doctype[^>]*>?", re.I)
SKIP_ITEMS = {"skipHours": "hour", "skipDays": "day"}
SKIP_VALUE = {"hour": re.compile(r"\d{1,2}"), "day": re.compile(r"[A-Za-z]{6,9}")}


def parse_feed(body: bytes, headers: dict[str, str], url: str) -> ParsedFeed:
    """Parse a feed; a malformed one still yields what it can, with a warning."""
    # No content-location: feedparser would resolve a bare GUID ("12345") against the feed's
    # URL into a link that does not exist; links are resolved here instead.
    response_headers = dict(headers)
    content_type = response_headers.get("content-type", "").lower()
    if not content_type or (content_type.startswith("text/xml") and "charset" not in content_type):
        # RFC 7303 retired text/xml's us-ascii default: let the XML declaration speak
        response_headers["content-type"] = "application/xml"
    response_headers.pop("content-encoding", None)  # the body is already decompressed
    body, response_headers = _sniff_undeclared(body, response_headers)
    _refuse_quadratic(body)
    parsed = feedparser.parse(body, response_headers=response_headers,
                              resolve_relative_uris=True, sanitize_html=True)
    entries = _without_boilerplate(_first_of_each_link(_distinct_guids(
        [e for e in (_entry(entry, url) for entry in parsed.entries) if e is not None])))
    if not parsed.get("version") and not entries:
        raise ParseError(_not_a_feed(body, headers, parsed, url))
    warning = None
    if parsed.get("bozo"):
        if not entries:  # nothing could be read: a failure, not an empty feed
            raise ParseError(f"malformed feed, no item readable: "
                             f"{_one_line(parsed.bozo_exception)}")
        warning = (f"malformed feed, read {len(entries)} item{'' if len(entries) == 1 else 's'} "
                   f"anyway: {_one_line(parsed.bozo_exception)}")
    skipped = _skipped(body, response_headers)
    return ParsedFeed(format=parsed.get("version") or "unknown", entries=entries,
                      warning=warning, ttl_minutes=_ttl(parsed.feed.get("ttl")),
                      skip_hours=tuple(sorted({int(h) % 24 for h in skipped["skipHours"]})),
                      skip_days=tuple(sorted({d.lower() for d in skipped["skipDays"]})),
                      title=_one_line(CONTROL.sub("", parsed.feed.get("title", ""))))


def _sniff_undeclared(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """Bytes that declare no encoding, or one they are not in (Shift_JIS served as UTF-8), and
    are not UTF-8 are sniffed and handed to feedparser as UTF-8; feedparser alone would read an
    undeclared Shift_JIS, EUC-JP or Latin-1 feed as windows-1252 and garble every title.
    UTF-16 and UTF-32 become UTF-8 too, so that every later look at the bytes sees the markup."""
    wide = _wide(body, headers)
    if wide:
        return _as_utf8(body.decode(wide, errors="replace")), _utf8(headers)
    http, xml = HTTP_CHARSET.search(headers.get("content-type", "")), XML_ENCODING.match(body)
    declared = http.group(1) if http else xml.group(1).decode("ascii") if xml else None
    if http and _is_latin(http.group(1)) and not body.isascii():
        return _latin_default(body, headers, xml.group(1).decode("ascii") if xml else None)
    for codec in filter(None, (declared, "utf-8")):
        try:
            body.decode(codec)
            return body, headers
        except (UnicodeDecodeError, LookupError):
            pass
    best = charset_normalizer.from_bytes(body).best()
    if best is None:
        return body, headers
    text = str(best)
    if best.encoding in LATIN_CODE_PAGES:  # which one is a guess on a short text: the Web's
        text = body.decode("cp1252", errors="replace")  # default for undeclared Latin text
    return _as_utf8(text), _utf8(headers)


def _latin_default(body: bytes, headers: dict[str, str], xml_declared: str | None,
                   ) -> tuple[bytes, dict[str, str]]:
    """A Latin-1 or windows-1252 charset in the header is often the server's default, not the
    feed's, and decodes any bytes: the feed's own declaration, UTF-8, or a sniffed non-Latin
    encoding (Shift_JIS, EUC-JP) is believed before it."""
    for codec in filter(None, (xml_declared, "utf-8")):
        if _is_latin(codec):
            continue
        try:
            return _as_utf8(body.decode(codec)), _utf8(headers)
        except (UnicodeDecodeError, LookupError):
            pass
    best = charset_normalizer.from_bytes(body).best()
    if best is None or best.encoding not in CJK_CODECS:  # a guess between one-byte pages is
        return body, headers  # no better than the header
    return _as_utf8(str(best)), _utf8(headers)


def _wide(body: bytes, headers: dict[str, str]) -> str | None:
    """The codec of a body in UTF-16 or UTF-32 (by its byte order mark, its first "<", or the
    charset declared for a body with a NUL in its first bytes), whose markup is not ASCII."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return codec
    if body[:4] in WIDE:
        return WIDE[body[:4]]
    http = HTTP_CHARSET.search(headers.get("content-type", ""))
    if not http or b"\x00" not in body[:4]:
        return None
    try:
        name = codecs.lookup(http.group(1)).name
    except LookupError:
        return None
    return name if name.startswith(("utf-16", "utf-32")) else None


def _refuse_quadratic(body: bytes) -> None:
    """ParseError for the shapes that make feedparser quadratic (see MAX_ATTRIBUTES); each
    look is one linear pass over the bytes."""
    for tag in LONG_TAG.finditer(body):
        if tag.group().count(b"=") > MAX_ATTRIBUTES:
            raise ParseError(f"refused: an element with over {MAX_ATTRIBUTES} attributes "
                             f"(a broken or hostile feed, which would take hours to parse)")
    if b"xmlns:" in body and len(set(PREFIX.findall(body))) > MAX_PREFIXES:
        raise ParseError(f"refused: over {MAX_PREFIXES} XML namespace prefixes "
                         f"(a broken or hostile feed, which would take hours to parse)")


def _is_latin(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name in ("iso8859-1", "cp1252", "ascii")
    except LookupError:
        return False


def _as_utf8(text: str) -> bytes:
    return b'<?xml version="1.0" encoding="utf-8"?>' + XML_DECLARATION.sub(b"", text.encode())


def _utf8(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "content-type": "application/xml; charset=utf-8"}


def _entry(entry: feedparser.FeedParserDict, base: str) -> FeedEntry | None:
    link = entry.get("link") or _alternate(entry)
    guid = entry.get("id") or None
    if entry.get("guidislink") and not entry.get("links"):
        link = guid if (guid or "").startswith(("http://", "https://")) else None
    if link:
        link = safe_link(urljoin(base, link.strip()))
    if not (link or "").startswith(("http://", "https://")) or not urlsplit(link).hostname:
        link = None  # a GUID that is no URL, a javascript: link, "http://"
    title, summary = _text(entry.get("title")), _text(entry.get("summary") or _content(entry))
    if not (link or guid or title or summary):
        return None
    source = entry.get("source") or {}
    return FeedEntry(
        title=title or "(untitled)", link=(link or "").strip(), guid=guid, summary=summary,
        published=_when(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")),
        author=_text(entry.get("author")) or None, publisher=_text(source.get("title")) or None)


def _distinct_guids(entries: list[FeedEntry]) -> tuple[FeedEntry, ...]:
    """A GUID one feed gives to items with different links identifies none of them: each is
    then known by its link (a later one would otherwise be taken for an edit of the first)."""
    links: dict[str, set[str]] = {}
    for e in entries:
        if e.guid:
            links.setdefault(e.guid, set()).add(e.link)
    return tuple(replace(e, guid=None) if e.guid and len(links[e.guid]) > 1 and e.link else e
                 for e in entries)


def _first_of_each_link(entries: tuple[FeedEntry, ...]) -> tuple[FeedEntry, ...]:
    """Two items of one feed with one link are one article: the first (a feed lists its newest
    first) is kept, so a stray duplicate ("1-", no summary) does not overwrite it each poll."""
    seen: set[str] = set()
    kept = []
    for e in entries:
        if e.link and e.link in seen:
            continue
        seen.add(e.link)
        kept.append(e)
    return tuple(kept)


def _without_boilerplate(entries: tuple[FeedEntry, ...]) -> tuple[FeedEntry, ...]:
    """A summary that items with different titles share says nothing of any of them (a
    paywall teaser, "Read more on our site"): dropped, so it neither makes different stories
    look like copies of one another nor stands in for a text."""
    titles: dict[str, set[str]] = {}
    for e in entries:
        if e.summary:
            titles.setdefault(e.summary, set()).add(e.title)
    return tuple(replace(e, summary="") if e.summary and len(titles[e.summary]) > 1 else e
                 for e in entries)


def _alternate(entry: feedparser.FeedParserDict) -> str | None:
    for link in entry.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return None


def _content(entry: feedparser.FeedParserDict) -> str:
    contents = entry.get("content") or []
    return contents[0].get("value", "") if contents else ""


def _text(value: str | None) -> str:
    """Feed HTML -> plain text on one line, without control characters (an escape sequence in
    a headline must not reach a terminal)."""
    text = html.unescape(TAG.sub(" ", value or ""))
    return SPACE.sub(" ", CONTROL.sub(" ", text)).strip()


def _when(parsed_time) -> datetime | None:
    if not parsed_time:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed_time), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _ttl(value: str | None) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if minutes > 0 else None


def _skipped(body: bytes, headers: dict[str, str]) -> dict[str, list[str]]:
    """The <hour>s of <skipHours> and <day>s of <skipDays>, read by lxml's parser (feedparser
    keeps only the last of each). Its events go to a target that keeps no tree, so time and
    memory stay linear in the body; a broken body is read as far as libxml2 recovers."""
    http = HTTP_CHARSET.search(headers.get("content-type", ""))
    options = {"recover": True, "resolve_entities": False, "no_network": True, "load_dtd": False}
    try:
        parser = etree.XMLParser(target=_SkipTarget(), encoding=http.group(1) if http else None,
                                 **options)
    except LookupError:  # a charset libxml2 does not know: let it read the declaration
        parser = etree.XMLParser(target=_SkipTarget(), **options)
    try:
        return etree.fromstring(body, parser)
    except (etree.LxmlError, ValueError):  # nothing parseable: no root element, empty body
        return {name: [] for name in SKIP_ITEMS}


class _SkipTarget:
    """lxml parser target that collects the text of <hour> in <skipHours> and <day> in
    <skipDays>, at whatever namespace and depth."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {name: [] for name in SKIP_ITEMS}
        self.block: str | None = None
        self.text: list[str] | None = None

    def start(self, tag: str, attrib) -> None:
        name = tag.rpartition("}")[2]
        if self.block is None and name in SKIP_ITEMS:
            self.block = name
        elif self.block and name == SKIP_ITEMS[self.block] and len(self.found[self.block]) < 64:
            self.text = []

    def data(self, text: str) -> None:
        if self.text is not None and len(self.text) < 8:  # a hostile text stays small
            self.text.append(text[:32])

    def end(self, tag: str) -> None:
        name = tag.rpartition("}")[2]
        if self.block and self.text is not None and name == SKIP_ITEMS[self.block]:
            value = "".join(self.text).strip()
            if SKIP_VALUE[name].fullmatch(value):
                self.found[self.block].append(value)
            self.text = None
        elif name == self.block:
            self.block = None

    def close(self) -> dict[str, list[str]]:
        return self.found


def _not_a_feed(body: bytes, headers: dict[str, str], parsed, url: str) -> str:
    content_type = headers.get("content-type", "no content type").split(";")[0]
    if not body.strip():
        return "empty response, not a feed"
    if b"<html" in body[:2048].lower():
        named = feed_links(body.decode("utf-8", errors="replace"), url)
        hint = f"; it names the feed {named[0]} (set that as the source's url)" if named else ""
        return f"got an HTML page ({content_type}), not a feed{hint}"
    return f"not a feed ({content_type}): {_one_line(parsed.get('bozo_exception', 'no items'))}"


def _one_line(value) -> str:
    return SPACE.sub(" ", str(value)).strip()[:200]


def feed_links(page: str, url: str) -> list[str]:
    """Feed URLs a page announces (pure: no fetching)."""
    from trafilatura.feeds import FeedParameters, determine_feed  # only to find a feed

    start = 0
    while (doctype := DOCTYPE.match(page, start)) and doctype.end() > start:
        start = doctype.end()
    page = page[start:]
    parts = urlsplit(url)
    params = FeedParameters(f"{parts.scheme}://{parts.netloc}", parts.hostname or "", url)
    return determine_feed(page, params)
