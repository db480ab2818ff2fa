"""`techwatch backfill`: fill the archive from a site's sitemaps, politely and resumably.

robots.txt is read first (RFC 9309: a 4xx means no rules, a 5xx or no answer means stay away);
its Sitemap lines, else /sitemap.xml, lead through nested sitemap indexes to page URLs, which go
into the archive as pending articles (origin "backfill": never alerted, never in a digest) and
are then fetched like any other, with the fetcher's per-host limits. A sitemap read to the end
is remembered, and the pending articles survive a kill: an interrupted backfill resumes without
reading or adding anything twice."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from lxml import etree

from bot.errors import FetchError
from bot.feeds import identity
from bot.models import ArticleDraft, Source
from bot.pipeline import Pipeline

log = logging.getLogger("techwatch")
MAX_SITEMAPS = 1000  # per site: a generated endless index must end somewhere
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit, uncompressed
SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, */*;q=0.1"
XML = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)


@dataclass
class BackfillReport:
    source_id: str
    sitemaps: int = 0  # read now
    skipped_sitemaps: int = 0  # read by an earlier (interrupted) run
    urls: int = 0  # page URLs listed, in the time range
    disallowed: int = 0  # by robots.txt
    off_site: int = 0  # listed URLs on another host: a sitemap speaks for its own site only
    added: int = 0  # new to the archive
    problems: list[str] = field(default_factory=list)


def parse_sitemap(body: bytes) -> tuple[list[str], list[tuple[str, datetime | None]]]:
    """(nested sitemaps, page URLs with their lastmod) of a sitemap or sitemap index; entities
    are not resolved and nothing is fetched (XXE-safe)."""
    try:
        if body[:2] == b"\x1f\x8b":  # bounded: a small gzip bomb must not fill the memory
            body = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, MAX_SITEMAP_BYTES)
        root = etree.fromstring(body, XML)
    except (zlib.error, etree.XMLSyntaxError):
        return [], []
    if root is None:
        return [], []
    nested, pages = [], []
    for element in root:
        if not isinstance(element.tag, str):
            continue
        values = {etree.QName(child).localname: (child.text or "").strip()
                  for child in element if isinstance(child.tag, str)}
        loc = values.get("loc")
        if not loc:
            continue
        if etree.QName(element).localname == "sitemap":
            nested.append(loc)
        elif etree.QName(element).localname == "url":
            pages.append((loc, _date(values.get("lastmod"))))
    return nested, pages


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def backfill_source(pipeline: Pipeline, source: Source, since: datetime | None,
                          progress: Callable[[str, int], None] | None = None) -> BackfillReport:
    """Add the pages a source's site lists in its sitemaps (since `since`) as pending articles."""
    report = BackfillReport(source.id)
    parts = urlsplit(source.url)
    root = f"{parts.scheme}://{parts.netloc}/"
    # a public site's robots.txt or sitemaps may not lead into this machine's network
    private_ok = await pipeline.may_reach_private(source.id)
    robots = await _robots(pipeline, root, report, private_ok)
    if robots is None:
        return report
    agent = pipeline.settings.fetch.user_agent
    queue = list(dict.fromkeys(robots.site_maps() or [])) or [urljoin(root, "sitemap.xml")]
    seen: set[str] = set()
    while queue and len(seen) < MAX_SITEMAPS:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        if pipeline.archive.sitemap_done(url):
            report.skipped_sitemaps += 1
            continue
        if not robots.can_fetch(agent, url):
            report.disallowed += 1
            continue
        try:
            result = await pipeline.fetcher.get(url, accept=SITEMAP_ACCEPT, private_ok=private_ok)
        except FetchError as e:
            report.problems.append(f"{url}: {e}")
            continue
        nested, pages = parse_sitemap(result.body)
        report.sitemaps += 1
        nested = [urljoin(url, n) for n in nested]
        queue += [n for n in nested if _same_site(n, parts.hostname)]
        report.off_site += sum(not _same_site(n, parts.hostname) for n in nested)
        drafts = []
        for loc, lastmod in pages:
            if since and lastmod and lastmod < since:
                continue
            page = urljoin(url, loc)
            if not page.startswith(("http://", "https://")):
                continue
            if not _same_site(page, parts.hostname):
                report.off_site += 1
                continue
            report.urls += 1
            if not robots.can_fetch(agent, page):
                report.disallowed += 1
                continue
            drafts.append(ArticleDraft(
                source_id=source.id, url=page, canonical_url=identity.canonical_url(page),
                keys=identity.item_keys(source.id, page, None), title=page, summary="",
                guid=None, feed_published=None, lang=source.lang, publisher=None,
                fetch_fulltext=True))
        added = pipeline.archive.add_drafts(drafts, pipeline.now(), origin="backfill")
        report.added += sum(new for _, new in added)
        if not nested:  # an index is read again next time: its newest children may grow
            pipeline.archive.mark_sitemap_done(url, source.id, len(pages), pipeline.now())
        if progress:
            progress(f"{source.id}: sitemaps", report.sitemaps)
    return report


def _same_site(url: str, host: str | None) -> bool:
    """On the source's host (www. or not): the sitemaps protocol lets a sitemap list only its
    own site's pages, and another host's robots.txt was never read."""
    try:
        other = (urlsplit(url).hostname or "").removeprefix("www.")
    except ValueError:
        return False
    return other == (host or "").lower().removeprefix("www.")


async def _robots(pipeline: Pipeline, root: str, report: BackfillReport, private_ok: bool,
                  ) -> RobotFileParser | None:
    robots = RobotFileParser()
    try:
        result = await pipeline.fetcher.get(urljoin(root, "robots.txt"), accept="text/plain",
                                            private_ok=private_ok)
    except FetchError as e:
        if e.kind in ("not_found", "blocked", "gone") or (e.status and 400 <= e.status < 500):
            robots.parse([])  # RFC 9309 §2.3.1.3: unavailable means no rules
            return robots
        report.problems.append(f"{root}robots.txt: {e}; the site is not backfilled "
                               "(RFC 9309: an unreachable robots.txt means stay away)")
        return None
    robots.parse(result.body.decode("utf-8", "replace").splitlines())
    return robots
