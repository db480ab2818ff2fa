"""OPML, the subscription list every feed reader imports and exports: read into plain feeds,
planned into what to import and what to skip, and written back (OPML 2.0).

What readers write differs in shape, not in substance: Feedly nests feeds in folder outlines
(`text` and `title` both set), Inoreader and NetNewsWire mark feeds `type="rss"`, some write
only `text`, a few use OPML 2.0's `category` attribute instead of folders. A feed is any
outline with `xmlUrl`; its category is the path of the folders around it and the paths of its
`category` attribute, one string ("Tech/Japan, News"), kept as the source's note.

The file is the user's, but it may come from anywhere: it is read with a size bound and no
entity expansion, no DTD loading and no network (lxml, which also gives each outline's line).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from lxml import etree

from bot.errors import TechwatchError
from bot.feeds.identity import canonical_url

MAX_OPML_BYTES = 10 * 1024 * 1024  # a reader's export of thousands of feeds is a few MB
LANGUAGES = ("en", "ja")  # what a source's language may be (the classifier reads these two)
HOST = re.compile(r"[\w.-]+|[0-9a-f:.]+", re.IGNORECASE)  # a name (IDN too) or an IPv6 address
SPACES = re.compile(r"[ \t\r\n]+")
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class NotOpml(TechwatchError):
    """The bytes are not an OPML document (not XML, not <opml>, no <body>)."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed outline: as read from a file (with its line), or as written from a source."""

    url: str  # xmlUrl, as written
    title: str = ""  # text, else title; "" if neither
    category: str = ""  # "Tech/Japan, News": folder path and category attribute paths
    lang: str | None = None  # the primary subtag of its `language` attribute, lower-case
    html_url: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ImportStep:
    """What to do with one feed of a file: fetch `url`, or skip it, saying why."""

    feed: OpmlFeed
    url: str | None = None
    skip: str | None = None
    duplicate: bool = False  # skipped as a feed known already (not as a mistake in the file)


def read_opml(data: bytes) -> list[OpmlFeed]:
    """The feed outlines of an OPML document, in document order; NotOpml saying what is wrong
    (and on which line) when it is not one."""
    if len(data) > MAX_OPML_BYTES:
        raise NotOpml(f"larger than {MAX_OPML_BYTES // (1024 * 1024)} MB: not a subscription list")
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        problem = re.sub(r", line \d+, column \d+$", "", e.msg or "empty")
        raise NotOpml(f"not OPML: line {e.lineno}: not well-formed XML ({problem})") from None
    except ValueError as e:
        raise NotOpml(f"not OPML: {e}") from None
    if root is None or _name(root) != "opml":
        name = "nothing" if root is None else f"<{_name(root)}>"
        raise NotOpml(f"not OPML: the document is {name}, not <opml>")
    body = next((child for child in root if _name(child) == "body"), None)
    if body is None:
        raise NotOpml("not OPML: no <body>")
    return list(_feeds(body, ()))


def _feeds(element: etree._Element, folders: tuple[str, ...]) -> Iterable[OpmlFeed]:
    for child in element:
        if _name(child) != "outline":
            continue
        attrs = {_name_of(k): v for k, v in child.attrib.items()}
        label = _one_line(attrs.get("text") or attrs.get("title") or "")
        url = attrs.get("xmlurl")
        if url is not None:
            paths = ["/".join(folders)] + (attrs.get("category") or "").split(",")
            categories = dict.fromkeys(p for p in (_path(p) for p in paths) if p)
            lang = (attrs.get("language") or "").strip().replace("_", "-").split("-")[0].lower()
            yield OpmlFeed(url=url.strip(), title=label, category=", ".join(categories),
                           lang=lang or None, html_url=(attrs.get("htmlurl") or "").strip() or None,
                           line=child.sourceline)
        if len(child):  # a folder (or, rarely, a feed with outlines inside)
            yield from _feeds(child, folders + (label,) if url is None and label else folders)


def _path(category: str) -> str:
    return "/".join(s for s in (_one_line(p) for p in category.split("/")) if s)


def _one_line(text: str) -> str:
    """Line breaks and runs of spaces as one space (an ideographic space is a title's own)."""
    return SPACES.sub(" ", text).strip(" ")


def _name(element: etree._Element) -> str:
    return _name_of(element.tag) if isinstance(element.tag, str) else ""


def _name_of(tag: str) -> str:
    """A tag or attribute name without its namespace, lower-case: readers differ in case
    (`xmlUrl`, `xmlurl`)."""
    return tag.rpartition("}")[2].lower()


def feed_address(text: str) -> str:
    """A feed's (or a site's) address as `sources add` and `sources import` take it: http or
    https, with a host; `feed:` (Apple's scheme for feeds) read as http; without a scheme,
    https. ValueError saying what is wrong."""
    address = text.strip()
    if not address or re.search(r"\s", address):
        raise ValueError("not a URL")
    if address.lower().startswith("feed:"):
        address = address[5:]
        address = "http:" + address if address.startswith("//") else address
    if "://" not in address:
        if re.match(r"[a-z][a-z0-9+.-]*:(?!\d)", address, re.IGNORECASE):  # mailto:, javascript:
            raise ValueError(f"not http or https ({address.split(':', 1)[0]}:)")
        address = "https://" + address
    parts = urlsplit(address)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"not http or https ({parts.scheme}:)")
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        raise ValueError("not a URL (bad port)") from None
    if not parts.hostname or not HOST.fullmatch(parts.hostname):
        raise ValueError("not a URL (no host)")
    return address


def plan_import(feeds: Iterable[OpmlFeed], known: Mapping[str, str]) -> list[ImportStep]:
    """Each feed of a file, in order: its address to fetch, or why it is skipped (a bad
    address, a source already known, a repeat of an earlier line). `known`: canonical URL ->
    what it is ("source nikkei-asia")."""
    earlier: dict[str, int | None] = {}
    steps = []
    for feed in feeds:
        try:
            url = feed_address(feed.url)
        except ValueError as e:
            steps.append(ImportStep(feed, skip=f"{e}: {feed.url!r}"))
            continue
        key = canonical_url(url)
        if key in known:
            steps.append(ImportStep(feed, skip=f"already {known[key]}", duplicate=True))
        elif key in earlier:
            line = earlier[key]
            steps.append(ImportStep(feed, skip=f"repeats line {line}" if line else "a repeat",
                                    duplicate=True))
        else:
            earlier[key] = feed.line
            steps.append(ImportStep(feed, url=url))
    return steps


def source_language(feed: OpmlFeed) -> str | None:
    """The outline's language if a source may have it, else None (guessed from the items)."""
    return feed.lang if feed.lang in LANGUAGES else None


def render_opml(feeds: Iterable[OpmlFeed], *, title: str, created: datetime) -> bytes:
    """An OPML 2.0 document (UTF-8): feeds with a category sit in folder outlines along its
    first path (what readers import) and carry all of it in `category` (what OPML 2.0 says)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _xml(title)
    etree.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], etree._Element] = {(): body}
    for feed in feeds:
        categories = [p for p in (_path(c) for c in feed.category.split(",")) if p]
        parent, path = body, ()
        for segment in categories[0].split("/") if categories else ():
            path += (segment,)
            if path not in folders:
                folders[path] = etree.SubElement(parent, "outline", text=_xml(segment),
                                                 title=_xml(segment))
            parent = folders[path]
        name = _xml(feed.title) or feed.url
        attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": _xml(feed.url)}
        if feed.html_url:
            attrs["htmlUrl"] = _xml(feed.html_url)
        if feed.lang:
            attrs["language"] = feed.lang
        if categories:
            attrs["category"] = _xml(",".join("/" + c for c in categories))
        etree.SubElement(parent, "outline", attrs)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _xml(text: str) -> str:
    """Text XML 1.0 can hold (a feed's title may carry control characters)."""
    return NOT_XML.sub("", text)
