"""The `techwatch sources` commands: check, add, import and export (OPML), suggest, disable
and enable the sources polled beside the config's."""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import datetime

from bot.app import App
from bot.cli import _say
from bot.errors import SourceError, TechwatchError
from bot.logs import redact, scrub


def cmd_sources_check(app: App, args: argparse.Namespace) -> int:
    import asyncio

    from rich.table import Table

    from bot.app import open_fetcher
    from bot.notify.terminal import console, escape
    from bot.pipeline import check_source, polled_sources

    async def check_all():
        async with open_fetcher(app) as fetcher:
            allow = app.settings.slack.allow_private_sources
            return await asyncio.gather(*(check_source(fetcher, s, allow) for s in
                                          polled_sources(app.settings, app.archive)))

    reports = asyncio.run(check_all())
    table = Table(title="Source check", expand=True)
    for column in ("id", "result", "format", "items", "detail"):
        table.add_column(column, overflow="fold")
    for r in reports:
        table.add_row(*map(escape, (r.source_id, r.status, r.format, str(r.items),
                                    scrub(r.detail))))
    console().print(table)
    failed = sum(not r.ok for r in reports)
    print(f"{len(reports) - failed} of {len(reports)} sources OK")
    return 1 if failed else 0


def cmd_sources_add(app: App, args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import add_feed_source
    from bot.feeds.opml import feed_address

    try:
        url = feed_address(args.url)
    except ValueError as e:
        raise TechwatchError(f"sources add: not a URL: {args.url!r} ({e}; a feed's or a site's "
                             "address, e.g. https://www.example.com/feed)") from None
    try:
        source, found = asyncio.run(add_feed_source(
            app, url, source_id=args.source_id, name=args.name, lang=args.lang))
    except TechwatchError as e:
        raise TechwatchError(f"sources add: {e}") from None
    print(f"added source {source.id}: {source.name} <{redact(source.url)}> ({found.feed.format}, "
          f"{len(found.feed.entries)} items, {source.lang}); polled from the next cycle")
    return 0


def cmd_sources_import(app: App, args: argparse.Namespace) -> int:
    """Each feed of the file is fetched once, as `sources add` does (one client, in parallel
    within the fetch limits); a duplicate, a bad address or a feed that fails is one line on
    standard error, and the rest is imported. Exit 0 when something was imported or everything
    was there already."""
    import asyncio

    from bot.app import open_fetcher
    from bot.feeds.discover import find_feed, new_source
    from bot.feeds.identity import canonical_url
    from bot.feeds.opml import MAX_OPML_BYTES, OpmlFeed, plan_import, read_opml, source_language

    try:
        with open(args.file, "rb") as file:
            data = file.read(MAX_OPML_BYTES + 1)
    except OSError as e:
        raise TechwatchError(f"sources import: cannot read {args.file}: {e.strerror or e}") from None
    try:
        feeds = read_opml(data)
    except TechwatchError as e:
        raise TechwatchError(f"sources import: {args.file}: {e}") from None
    if not feeds:
        _say(f"sources import: {args.file}: no feed in it (no outline with an xmlUrl)")
    rows = app.archive.source_rows()
    known = {canonical_url(s.url): f"source {s.id}" for s in (*rows, *app.settings.sources)}
    taken = {row.id for row in rows} | {s.id for s in app.settings.sources}
    steps = plan_import(feeds, known)
    imported = duplicates = 0

    def skip(feed: OpmlFeed, why: str) -> None:
        where = f"{args.file}:{feed.line}" if feed.line else args.file
        title = f'"{feed.title}" ' if feed.title else ""
        _say(f"sources import: {where}: {title}skipped: {redact(why)}")

    async def import_all() -> None:
        nonlocal imported, duplicates
        async with open_fetcher(app) as fetcher:
            tasks = [asyncio.ensure_future(find_feed(fetcher, step.url)) if step.url else None
                     for step in steps]
            for step, task in zip(steps, tasks, strict=True):
                feed = step.feed
                if task is None:
                    duplicates += step.duplicate
                    skip(feed, step.skip or "")
                    continue
                try:
                    found = await task
                except SourceError as e:
                    skip(feed, str(e))
                    continue
                key = canonical_url(found.url)
                if key in known:  # its site's feed, or where it redirects, is known already
                    duplicates += 1
                    skip(feed, f"already {known[key]} (its feed {found.url})")
                    continue
                try:
                    source = new_source(found, taken, name=feed.title or None,
                                        lang=source_language(feed))
                    app.archive.add_source(source, app.now(), note=feed.category or None)
                except TechwatchError as e:
                    skip(feed, str(e))
                    continue
                known[key], imported = f"source {source.id}", imported + 1
                taken.add(source.id)
                note = f", {feed.category}" if feed.category else ""
                print(f"imported source {source.id}: {source.name} <{redact(source.url)}> "
                      f"({source.lang}{note})")

    asyncio.run(import_all())
    skipped = len(steps) - imported
    print(f"{imported} imported, {skipped} skipped" + (
        f" ({duplicates} known already)" if duplicates else "") +
        ("; polled from the next cycle" if imported else ""))
    return 0 if imported or skipped == duplicates else 1


def cmd_sources_export(app: App, args: argparse.Namespace) -> int:
    """The config's sources (those enabled) and the added ones, with their notes as categories."""
    from pathlib import Path

    from bot.feeds.opml import OpmlFeed, render_opml

    notes = {row.id: row.note for row in app.archive.source_rows()}
    chosen = [s for s in app.settings.sources if s.enabled] + list(
        app.archive.added_sources(app.settings.poll.default_poll_minutes))
    data = render_opml((OpmlFeed(url=s.url, title=s.name, category=notes.get(s.id) or "",
                                 lang=s.lang) for s in chosen),
                       title="techwatch sources", created=app.now())
    if args.output:
        try:
            Path(args.output).write_bytes(data)
        except OSError as e:
            raise TechwatchError(f"sources export: cannot write {args.output}: "
                                 f"{e.strerror or e}") from None
        print(f"{len(chosen)} sources written to {args.output}", file=sys.stderr)
        return 0
    if sys.stdout is None:
        raise TechwatchError("sources export: standard output is closed")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


def cmd_sources_suggest(app: App, args: argparse.Namespace) -> int:
    import asyncio

    from rich.table import Table

    from bot.app import open_fetcher
    from bot.feeds.discover import domain, find_feed, outbound_domains, rank_suggestions
    from bot.notify.terminal import console, escape
    from bot.store.rows import ADDED_SOURCE

    rows = app.archive.source_rows()
    aggregators = {r.id for r in rows if domain(r.url) == "news.google.com"} | {ADDED_SOURCE}
    known = {domain(r.url) for r in rows} | {
        domain(url) for source_id, url in app.archive.article_urls()
        if source_id not in aggregators}
    carried = [domain(url) for source_id, url in app.archive.article_urls(relevant=True)
               if source_id in aggregators]
    linked = (outbound_domains(page, url) for url, page in app.archive.relevant_pages())
    ranked = rank_suggestions(linked, carried, known)[:max(args.limit, 1)]
    feeds: dict[str, str] = {}
    if args.find_feeds and ranked:
        async def find_all():
            async with open_fetcher(app) as fetcher:
                for site, _, _ in ranked:
                    try:
                        feeds[site] = (await find_feed(fetcher, f"https://{site}/")).url
                    except SourceError:
                        with contextlib.suppress(SourceError):
                            feeds[site] = (await find_feed(fetcher, f"http://{site}/")).url

        asyncio.run(find_all())
    if not ranked:
        print("No suggestions yet: they come from the links and publishers of relevant articles.")
        return 0
    table = Table(title="Suggested sources", expand=True)
    for column in ("site", "linked from", "published", "feed"):
        table.add_column(column, overflow="fold")
    for site, links, published in ranked:
        table.add_row(*map(escape, (site, str(links), str(published), feeds.get(
            site, "not found" if args.find_feeds else "(--find-feeds)"))))
    console().print(table)
    first = next((feeds[s] for s, _, _ in ranked if s in feeds), None) or f"https://{ranked[0][0]}/"
    print(f"Add one with: techwatch sources add {first}")
    return 0


def cmd_sources_disable(app: App, args: argparse.Namespace) -> int:
    return _set_disabled(app, args.source_id, app.now())


def cmd_sources_enable(app: App, args: argparse.Namespace) -> int:
    return _set_disabled(app, args.source_id, None)


def _set_disabled(app: App, source_id: str, when: datetime | None) -> int:
    if not app.archive.set_disabled(source_id, when):
        known = ", ".join(r.id for r in app.archive.source_rows()) or "none"
        raise TechwatchError(f"no source {source_id!r} (sources: {known})")
    print(f"source {source_id}: " + ("disabled: not polled until `techwatch sources enable "
                                     f"{source_id}`" if when else "enabled: polled again"))
    return 0
