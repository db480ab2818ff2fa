"""A page of search results -> an Atom 1.0 feed (RFC 4287), so a search can be followed in any
feed reader. Pure. ElementTree writes the XML: every text and attribute is escaped, and the
characters XML cannot hold at all are dropped first."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from xml.etree import ElementTree as ET

from bot.models import ArticleView
from bot.untrusted import CONTROL

ATOM = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")  # besides CONTROL's: not XML characters


def clean(text: str) -> str:
    return _NOT_XML.sub("", CONTROL.sub("", text))


def search_feed(results: Sequence[ArticleView], *, title: str, self_url: str, page_url: str,
                base_url: str, now: datetime) -> bytes:
    """`self_url`: the feed's own address (also its id); `page_url`: the same search as a page;
    `base_url`: where story pages are (entries link there, and to the outlet when http(s))."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "title", clean(title))
    _add(feed, "id", self_url)
    _add(feed, "updated", max((_updated(a) for a in results), default=now).isoformat())
    _add(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    _add(feed, "link", rel="alternate", href=page_url, type="text/html")
    _add(_add(feed, "author"), "name", "techwatch")
    _add(feed, "generator", "techwatch")
    for a in results:
        story = f"{base_url}/stories/{a.story_id or a.id}"
        entry = _add(feed, "entry")
        _add(entry, "title", clean(a.title) or "(untitled)")
        _add(entry, "id", story)
        _add(entry, "updated", _updated(a).isoformat())
        if a.published:
            _add(entry, "published", a.published.isoformat())
        _add(entry, "link", rel="alternate", href=story, type="text/html")
        if a.url.startswith(("http://", "https://")):
            _add(entry, "link", rel="related", href=clean(a.url), title=clean(a.source_name))
        _add(_add(entry, "author"), "name", clean(a.source_name) or "unknown")
        for topic in a.topics:
            _add(entry, "category", term=clean(topic))
        summary = a.snippet or a.text_head[:300]
        also = f" Also reported by: {', '.join(a.also)}." if a.also else ""
        _add(entry, "summary", clean(f"{summary}{also}".strip()), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _updated(article: ArticleView) -> datetime:
    return article.published or article.first_seen
