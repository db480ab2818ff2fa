"""From a URL someone offers (a feed, or just a site) to a feed that works, and from the archive
to the sites worth adding: the domains relevant coverage keeps linking to."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

from bot.cjk import language_of
from bot.config import SOURCE_ID
from bot.errors import FetchError, ParseError, SourceError
from bot.feeds.fetch import FEED_ACCEPT, Fetcher
from bot.feeds.parse import feed_links, parse_feed
from bot.models import ParsedFeed, Source

COMMON_PATHS = ("/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml", "/feeds/all")
SKIP_DOMAINS = re.compile(r"(^|\.)(google|googleapis|gstatic|facebook|twitter|x|linkedin|"
                          r"youtube|instagram|t|bit|doubleclick|apple|wikipedia|archive)\.[a-z.]+$")


@dataclass(frozen=True, slots=True)
class FoundFeed:
    url: str
    feed: ParsedFeed
    title: str


async def find_feed(fetcher: Fetcher, url: str, *, private_ok: bool = True) -> FoundFeed:
    """The feed at `url`, or the one its page announces (<link rel="alternate">, found with
    trafilatura's feed helper), or one at a usual path; SourceError saying what was tried.
    Parsing runs on a worker thread: a 10 MB body takes seconds, which must not stall the loop."""
    try:
        result = await fetcher.get(url, accept=FEED_ACCEPT, private_ok=private_ok)
    except FetchError as e:
        raise SourceError(f"{url}: {e}") from None
    try:
        return _found(result.url, await asyncio.to_thread(parse_feed, result.body, result.headers,
                                                          result.url))
    except ParseError:
        pass
    named = await asyncio.to_thread(feed_links, result.body.decode("utf-8", "replace"), result.url)
    candidates = named + [urljoin(result.url, p) for p in COMMON_PATHS]
    for candidate in dict.fromkeys(candidates):
        try:
            page = await fetcher.get(candidate, accept=FEED_ACCEPT, private_ok=private_ok)
            return _found(page.url, await asyncio.to_thread(parse_feed, page.body, page.headers,
                                                            page.url))
        except (FetchError, ParseError):
            continue
    raise SourceError(f"{url}: not a feed, and no feed found (looked for <link rel=\"alternate\"> "
                      f"and {', '.join(COMMON_PATHS)})")


def _found(url: str, feed: ParsedFeed) -> FoundFeed:
    if not feed.entries:
        raise ParseError("a feed without items")
    return FoundFeed(url, feed, feed.title or urlsplit(url).hostname or url)


def new_source(found: FoundFeed, taken: set[str], *, source_id: str | None = None,
               name: str | None = None, lang: str | None = None) -> Source:
    """A source for a found feed: its id from the domain unless given (made unique), its name
    from the feed's title, its language from the items' titles (most with kana: Japanese)."""
    if source_id is None:
        base = re.sub(r"[^a-z0-9]+", "-", domain(found.url)).strip("-")[:60] or "source"
        source_id, n = base, 2
        while source_id in taken:
            source_id, n = f"{base}-{n}", n + 1
    elif source_id in taken:
        raise SourceError(f"a source with id {source_id!r} exists already")
    if not SOURCE_ID.match(source_id):
        raise SourceError(f"id {source_id!r}: use lowercase letters, digits, - _ .")
    japanese = sum(language_of(e.title, "en") == "ja" for e in found.feed.entries)
    lang = lang or ("ja" if japanese * 2 > len(found.feed.entries) else "en")
    return Source(id=source_id, url=found.url, name=name or found.title, lang=lang)


def domain(url: str) -> str:
    """The site of a URL: host (and a non-default port), without "www."."""
    return urlsplit(url).netloc.lower().rpartition("@")[2].removeprefix("www.")


def outbound_domains(page: bytes, url: str) -> set[str]:
    """The other sites a page links to from its text (not its own, not social or ad hosts)."""
    try:
        tree = lxml_html.fromstring(page)
    except (ValueError, etree.ParserError):
        return set()
    own = domain(url)
    found = set()
    for href in tree.xpath("//body//a/@href"):
        target = domain(urljoin(url, str(href)))
        if target and target != own and not SKIP_DOMAINS.search(target) and \
                ("." in target or ":" in target):  # a host name, not an intranet alias
            found.add(target)
    return found


def rank_suggestions(linked: Iterable[set[str]], carried: Iterable[str], known: set[str],
                     ) -> list[tuple[str, int, int]]:
    """(domain, relevant articles linking to it, relevant articles it published) for domains
    that are not sources yet, most cited first."""
    links = Counter(d for domains in linked for d in domains)
    published = Counter(carried)
    names = (set(links) | set(published)) - known
    return sorted(((d, links[d], published[d]) for d in names),
                  key=lambda row: (-(row[1] + row[2]), row[0]))
