"""The one module that talks to trafilatura.

`extract_page` is pure (bytes and `now` in, ExtractedText out) so it can run in a process pool.
The status says what the page turned out to be, so "why is this article only a summary?" has an
answer: full, teaser, paywall, blocked, consent, too_short, too_large or not_article.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import lxml.etree
import lxml.html
import trafilatura
from trafilatura.utils import decode_file

from bot.extract.language import detect_language
from bot.models import ExtractedText
from bot.untrusted import CONTROL, safe_link

EXTRACTOR_VERSION = f"trafilatura {trafilatura.__version__}"
HTML_TYPES = ("", "text/html", "application/xhtml+xml", "text/plain")
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_:.-]+)""", re.I)
FUTURE_SLACK = timedelta(days=1)
LEGACY_DEFAULTS = {"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii", "windows-1252"}

# Interstitials (consent, bot walls) are recognised by what the extracted text itself says; a
# paywall by what the page says around a short text (the paywall box is usually not extracted).
# A long article that mentions "cookies" or "subscribe" is still an article.
CUES = {
    "consent": ("before you continue", "we use cookies", "cookie consent", "consent to our",
                "manage your privacy", "accept all cookies", "reject all", "同意します"),
    "blocked": ("access denied", "attention required", "just a moment", "captcha",
                "are you a robot", "verify you are human", "unusual traffic", "403 forbidden"),
    "paywall": ("subscribe to continue", "subscribers only", "for subscribers", "subscribe to read",
                "to continue reading", "already a subscriber", "sign in to read", "会員限定",
                "有料会員", "続きを読むには", "この記事は会員"),
}
TEASER_ENDINGS = ("...", "…", "read more", "continue reading", "続きを読む")

# Chosen with benchmarks/extraction_options.py on the 181 pages of the extraction benchmark:
# favor_recall with fast (no readability/jusText comparison) gives the same F1 as the balanced
# default at ~0.6 of its CPU. Metadata is what the product shows (title, author, site, canonical
# URL, date); the extensive date search costs ~1 ms a page and finds the date on more Japanese
# pages (12 of 12 against 9), where a date is in the text rather than in the markup.
OPTIONS = {
    "with_metadata": True, "include_comments": False, "favor_recall": True, "fast": True,
    "date_extraction_params": {"extensive_search": True, "original_date": True,
                               "outputformat": "%Y-%m-%dT%H:%M:%S%z"},
}


def extract_page(body: bytes, url: str, *, content_type: str = "", charset: str | None = None,
                 now: datetime, min_chars: int = 250, max_elements: int = 50_000,
                 ) -> ExtractedText:
    """Extract the article of one fetched page and judge what kind of page it was."""
    if content_type not in HTML_TYPES:
        return ExtractedText("not_article", note=f"content type {content_type}")
    tags = body.count(b"<")  # an upper bound of the elements, counted in C without parsing
    if tags > max_elements:
        return ExtractedText("too_large", note=f"the page has up to {tags:,} elements, more than "
                                               f"the {max_elements:,} extracted (not an article)")
    html = decode_html(body, charset)
    if _is_consent_host(url):
        return ExtractedText("consent", note="redirected to a consent page")
    doc = trafilatura.bare_extraction(html, url=url, **OPTIONS)
    text = CONTROL.sub(" ", doc.text or "").strip() if doc else ""
    title = doc.title if doc else None
    status, note = judge(text, lambda: _visible_text(html), min_chars, title=title or "")
    if doc is None:
        return ExtractedText(status, note=note)
    page_date, date_note = _page_date(doc.date, now)
    return ExtractedText(
        status=status, text=text if status != "not_article" else "",
        title=_clean(doc.title), author=_clean(doc.author), page_date=page_date,
        site_name=_clean(doc.sitename), lang=detect_language(text, doc.language),
        canonical_url=safe_link(doc.url or "") or None, note=note or date_note)


def judge(text: str, page_text: str | Callable[[], str], min_chars: int, title: str = "",
          ) -> tuple[str, str | None]:
    """Name what the page is, from its extracted text and the page's visible words. The page's
    words are read (a second parse) only when they can matter: the text is short or empty."""
    if callable(page_text):  # a long text's status does not depend on the page around it
        page_text = page_text() if not text or len(text) < min_chars * 3 else ""
    own_words = f"{title}\n{text[:2000]}".lower() if text else page_text[:3000].lower()
    checks = (("consent", own_words, 2000), ("blocked", own_words, 1000),
              ("paywall", page_text.lower(), min_chars * 3))
    for status, words, most in checks:
        cue = next((c for c in CUES[status] if c in words), None)
        if cue and len(text) < most:
            return status, f"page says {cue!r}"
    if not text:
        return "not_article", "no article text found"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    items = sum(line.startswith(("- ", "* ", "• ")) for line in lines)
    if len(lines) >= 8 and items >= 0.6 * len(lines):
        return "not_article", "looks like a list of headlines, not an article"
    if len(text) < min_chars:
        return "too_short", f"only {len(text)} characters of text"
    if len(text) < min_chars * 3 and text.lower().rstrip().endswith(TEASER_ENDINGS):
        return "teaser", "text stops after a preview"
    return "full", None


def decode_html(body: bytes, charset: str | None) -> str:
    """Decode by the byte-order mark, the HTTP charset, the page's <meta charset>, then by
    sniffing. A server's Latin-1 default loses to bytes that are valid UTF-8."""
    for bom, codec in BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(codec, errors="replace")
    if charset and charset.lower() in LEGACY_DEFAULTS and not body.isascii():
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    for name in (charset, _meta_charset(body)):
        if name:
            try:
                return body.decode(_codec(name))
            except (LookupError, UnicodeDecodeError):
                continue
    return decode_file(body)


BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _page_date(value: str | None, now: datetime) -> tuple[datetime | None, str | None]:
    if not value:
        return None, None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None, None
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    if when > now + FUTURE_SLACK:
        return None, f"ignored page date in the future ({value})"
    return when, None


def _codec(name: str) -> str:
    name = name.lower().strip()
    # The legacy Japanese and Chinese charsets are used as their Windows supersets on the web.
    return {"shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
            "gb2312": "gb18030", "gbk": "gb18030"}.get(name, name)


def _meta_charset(body: bytes) -> str | None:
    match = META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def _visible_text(html: str) -> str:
    """The words a reader sees (for paywall cues): linear in the page's size."""
    try:
        tree = lxml.html.document_fromstring(html[:500_000])
    except (lxml.etree.ParserError, ValueError):
        return ""
    for hidden in tree.xpath("//script|//style|//noscript|//template"):
        hidden.drop_tree()
    return " ".join(tree.text_content().split())


def _is_consent_host(url: str) -> bool:
    host = re.sub(r"^https?://", "", url).split("/")[0].lower()
    return host.startswith(("consent.", "guce.")) or ".consent." in host


def _clean(value: str | None) -> str | None:
    value = CONTROL.sub(" ", value or "").strip()
    return value or None
