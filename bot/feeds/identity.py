"""Identity of feed items: canonical URLs and the keys an item may be known by.

An item is the same item when its canonical URL (tracking parameters, fragment, host case, default
port and scheme ignored) or its feed GUID (within one source, scheme ignored) was seen before.
Google News links are decoded to the publisher's URL where the link carries it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

GOOGLE_NEWS_HOST = "news.google.com"
DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKER_PREFIXES = ("utm_", "_hs", "mc_", "pk_", "mtm_", "at_")
TRACKERS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
    "mkt_tok", "_ga", "_gl", "ocid", "ncid", "cmpid", "s_cid", "icid", "wt.mc_id", "spm",
    "sr_share", "oly_anon_id", "oly_enc_id", "vero_id", "rss_source", "feed_id", "__twitter_impression",
})
GOOGLE_ARTICLE = re.compile(r"/(?:rss/)?articles/([A-Za-z0-9_-]+)")


def canonical_url(url: str) -> str:
    """The URL as an identity: host and scheme lower-case, default port, fragment and known
    tracking parameters (utm_*, fbclid, ...) removed, the other parameters sorted. Only trackers
    go: "?cid=123" names a different article."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.lower()
    if port and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not _is_tracker(k))
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def same_site(a: str, b: str) -> bool:
    """One site's two addresses (www.x.com and amp.x.com): its AMP or mobile copy of a page may
    name the page as canonical; another site naming it is only a claim."""
    def site(url: str) -> str:  # the host (and a port other than the default)
        host = urlsplit(canonical_url(url)).netloc
        return host.removeprefix("www.").removeprefix("amp.").removeprefix("m.")
    return bool(site(a)) and site(a) == site(b)


def _is_tracker(name: str) -> bool:
    name = name.lower()
    return name.startswith(TRACKER_PREFIXES) or name in TRACKERS


def item_keys(source_id: str, url: str, guid: str | None) -> tuple[str, ...]:
    """Every key this item may be found under: its URL everywhere, its GUID within the source."""
    keys = ["url:" + _schemeless(canonical_url(url))]  # callers pass linkless items a urn:
    if guid and guid.strip():
        guid = guid.strip()
        if guid.startswith(("http://", "https://")):
            guid = _schemeless(canonical_url(guid))
        keys.append(f"guid:{source_id}:{guid}")
    return tuple(keys)


def is_google_news(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == GOOGLE_NEWS_HOST


def decode_google_news(url: str) -> str | None:
    """The publisher URL inside a Google News article link, or None when it is not in the link.

    Older links carry a protobuf message (field 4: the URL) in URL-safe base64; newer "AU_yqL..."
    links only carry an opaque id that Google resolves with a request of its own.
    """
    match = GOOGLE_ARTICLE.search(urlsplit(url).path)
    if not match:
        return None
    token = match.group(1)
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    decoded = _protobuf_url(data)
    return decoded if decoded and not is_google_news(decoded) else None


def _protobuf_url(data: bytes) -> str | None:
    start = data.find(b"\x22")  # field 4, length-delimited
    while start != -1:
        length, offset = _varint(data, start + 1)
        candidate = data[offset:offset + length]
        if candidate.startswith((b"http://", b"https://")) and len(candidate) == length:
            try:
                return candidate.decode("utf-8")
            except UnicodeDecodeError:
                return None
        start = data.find(b"\x22", start + 1)
    return None


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while offset < len(data):
        byte = data[offset]
        value |= (byte & 0x7F) << shift
        offset += 1
        if not byte & 0x80:
            break
        shift += 7
    return value, offset


def _schemeless(url: str) -> str:
    return re.sub(r"^https?://", "", url)


def strip_publisher_suffix(title: str, publisher: str | None) -> str:
    """An aggregator's titles (Google News's and others') end in " - Publisher", whom its
    <source> names; the publisher is shown separately."""
    if publisher and title.endswith(f" - {publisher}"):
        return title[: -len(publisher) - 3].rstrip()
    return title


def linkless_url(source_id: str, guid: str | None, title: str, summary: str) -> str:
    """A stable stand-in URL for an entry with no link, from its GUID or its content."""
    basis = guid or f"{title}\n{summary}"
    digest = hashlib.sha256(f"{source_id}\n{basis}".encode()).hexdigest()[:24]
    return f"urn:techwatch:{source_id}:{digest}"
