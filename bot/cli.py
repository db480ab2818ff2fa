"""The `techwatch` command. Each subcommand is a thin wrapper over one library function."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import __version__
from bot.app import App, load_app, load_classifier, load_glossary
from bot.errors import ArchiveDamaged, SettingError, TechwatchError
from bot.logs import LOG_FORMATS, JsonLines, redact, scrub, setup_logging

if TYPE_CHECKING:  # the rest loads inside the commands that use it: start-up stays short
    from bot.classify import Classifier
    from bot.config import Settings
    from bot.notify.slack import DeliveryReport
    from bot.pipeline import AddOutcome, CycleReport, Progress

log = logging.getLogger("techwatch")
NOW_HELP = "poll every enabled source now, even those backing off after failures"


class Terminated(KeyboardInterrupt):
    """SIGTERM to a one-shot command: the same clean stop as Ctrl-C (the extraction workers are
    shut down, nothing is left running)."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_stops() -> Iterator[None]:
    """SIGTERM and SIGHUP (the terminal closed) stop a command cleanly; `run` and `serve` set
    their own handlers while they run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _terminated) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _say(problem: str) -> None:
    """A command's one-line error on standard error, scrubbed like a log line; with JSON logs,
    a JSON line like the others (a log collector reads every line)."""
    if any(isinstance(h.formatter, JsonLines) for h in log.handlers):
        log.error("%s", problem)
        return
    print("techwatch: " + scrub(problem), file=sys.stderr)


def main(argv: list[str] | None = None, now: Callable[[], datetime] | None = None) -> int:
    """The command line; `now` lets a caller (a test, a replay) run on its own clock."""
    with _sigterm_stops():
        try:
            return _main(argv, now)
        except Terminated:  # also while starting (migrations, seeds)
            _say("terminated")
            return 143
        except KeyboardInterrupt:
            _say("interrupted")
            return 130


def _main(argv: list[str] | None, now: Callable[[], datetime] | None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    setup_logging(level, args.log_format or "text")  # the secrets: the environment's
    from bot.config import ENV_DATABASE_URL, config_path, load_settings

    if getattr(args, "settings_only", False):  # no database: e.g. a container's health check
        try:
            settings = load_settings(config_path(args.config, os.environ), os.environ)
        except TechwatchError as e:
            _say(str(e))
            return 2
        return args.handler(settings, args)
    if getattr(args, "offline", False):  # needs the taxonomy only: no database, no network
        try:
            classifier = load_classifier(load_settings(config_path(args.config, os.environ),
                                                       os.environ))
        except TechwatchError as e:
            _say(str(e))
            return 2
        try:
            return args.handler(classifier, args)
        except TechwatchError as e:
            _say(str(e))
            return 1
        except BrokenPipeError:
            return quiet_stdout()
    try:
        app = load_app(args.config, os.environ, now, reads=getattr(args, "reads", False))
    except TechwatchError as e:
        _say(str(e))
        return 2
    except _database_errors() as e:
        _say(f"database error: {_one_line(e)}")
        return 2
    if args.log_format is None and app.settings.logging.format != "text":
        setup_logging(level, app.settings.logging.format)
    if app.new_archive:  # a first run, or a mistyped path: say which, where it is seen
        from bot.store.database import archive_file

        where = archive_file(app.settings.storage.database)
        if getattr(args, "reads", False):
            log.warning("there is no archive at %s yet: this reads the seed documents only "
                        "(`techwatch run` makes it; is storage.database or %s right?)", where,
                        ENV_DATABASE_URL)
        else:
            log.debug("new archive at %s", where)
    try:
        if getattr(args, "writer", False):
            from bot.app import as_worker
            from bot.lock import exclusive

            with exclusive(app.settings.storage.database), as_worker(app):
                return args.handler(app, args) or 0
        return args.handler(app, args) or 0
    except (SettingError, ArchiveDamaged) as e:
        _say(str(e))
        return 2
    except TechwatchError as e:
        _say(str(e))
        return 1
    except _database_errors() as e:  # e.g. another process holds the database locked too long
        _say(f"database error: {_one_line(e)}")
        return 1
    except BrokenPipeError:
        return quiet_stdout()
    except OSError as e:  # e.g. the output's disk is full
        _say(f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""))
        quiet_stdout()  # nothing more can be written there, also not at exit
        return 1
    finally:
        app.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="techwatch", description="Watches the news for US–Japan technology cooperation.")
    parser.add_argument("--version", action="version", version=f"techwatch {__version__}")
    parser.add_argument("--config", metavar="PATH",
                        help="main config file (default: $TECHWATCH_CONFIG or "
                             "config/techwatch.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    parser.add_argument("--log-format", choices=LOG_FORMATS,
                        help="log lines as text (default) or JSON objects (config: "
                             "[logging] format)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="poll, extract, classify, archive and send digests")
    run.add_argument("--once", action="store_true", help="one full cycle, then exit")
    run.add_argument("--now", action="store_true", help=NOW_HELP + " (with --once)")
    run.set_defaults(handler=cmd_run, writer=True)

    digest = commands.add_parser("digest", help="send a digest now, if there is anything new")
    digest.add_argument("--channel", help="only this channel's digest")
    digest.add_argument("--dry-run", action="store_true",
                        help="print the Block Kit JSON instead of sending; record nothing")
    digest.add_argument("--always", action="store_true",
                        help="send even when there is nothing new (a 'no new coverage' note)")
    digest.set_defaults(handler=cmd_digest, writer=True)

    add = commands.add_parser("add", help="fetch, classify and archive pages given by URL")
    add.add_argument("urls", nargs="+", metavar="URL")
    add.set_defaults(handler=cmd_add)  # short writes: fine beside a running daemon

    backfill = commands.add_parser(
        "backfill", help="fill the archive from the sources' sitemaps (resumable; no alerts)")
    backfill.add_argument("--source", metavar="ID", help="only this source's site")
    backfill.add_argument("--since", help="pages modified since: 30d, 2w or a date (2025-01-31)")
    backfill.set_defaults(handler=cmd_backfill, writer=True)

    poll = commands.add_parser("poll", help="one cycle without any digest")
    poll.add_argument("--now", action="store_true", help=NOW_HELP)
    poll.set_defaults(handler=cmd_poll, writer=True)

    search = commands.add_parser("search", help="search the archive (full text, ranked; every "
                                                "word, 'a OR b' either, '-word' not)")
    search.add_argument("query", nargs="+", help="words to find (all must match)")
    search.add_argument("--topic", help="only articles with this topic id")
    search.add_argument("--since", help="7d, 24h, 2w or a date (2025-01-31)")
    search.add_argument("--limit", type=int, default=20, help="most results (default 20)")
    search.add_argument("--json", action="store_true", help="JSON Lines output")
    search.set_defaults(handler=cmd_search, reads=True)

    watch = commands.add_parser("watch", help="watches (alerts on a search): try a query")
    watch_commands = watch.add_subparsers(dest="watch_command", required=True,
                                          metavar="SUBCOMMAND")
    watch_test = watch_commands.add_parser(
        "test", help="the stories a watch's query would have alerted, to tune it before saving")
    watch_test.add_argument("query", nargs="+", help="the search grammar: every word; a OR b; "
                                                     "-word; \"a phrase\"")
    watch_test.add_argument("--since", default="30d", help="how far back (default 30d)")
    watch_test.add_argument("--topic", help="only articles with this topic id")
    watch_test.add_argument("--lang", choices=("en", "ja"), help="only articles in this language")
    watch_test.add_argument("--any", action="store_true",
                            help="also articles not judged relevant (a watch's `any`)")
    watch_test.add_argument("--limit", type=int, default=20, help="most stories (default 20)")
    watch_test.add_argument("--json", action="store_true", help="JSON Lines output")
    watch_test.set_defaults(handler=cmd_watch_test, reads=True)

    status = commands.add_parser("status", help="sources, recent fetch outcomes, archive counts")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=cmd_status, reads=True)

    serve = commands.add_parser(
        "serve", help="the Slack app alone: Socket Mode with SLACK_APP_TOKEN, else HTTP")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP address (default all)")
    serve.set_defaults(handler=cmd_serve)

    web = commands.add_parser("web", help="the archive's web pages alone, read-only")
    web.add_argument("--port", type=int, help=f"HTTP port (default: [web] port, else {WEB_PORT})")
    web.add_argument("--host", help="HTTP address (default: [web] host, 127.0.0.1)")
    web.set_defaults(handler=cmd_web, reads=True)

    feedback = commands.add_parser("feedback", help="readers' votes from Slack")
    feedback_commands = feedback.add_subparsers(dest="feedback_command", required=True,
                                                metavar="SUBCOMMAND")
    feedback_export = feedback_commands.add_parser(
        "export", help="the votes as labeled JSON Lines (the corpus format, for `eval`)")
    feedback_export.add_argument("--output", "-o", metavar="FILE", help="instead of stdout")
    feedback_export.set_defaults(handler=cmd_feedback_export, reads=True)

    health = commands.add_parser("health", help="ask the running daemon's (or `serve`'s) "
                                 "/healthz: is it alive")
    health.add_argument("--ready", action="store_true",
                        help="ask /readyz instead: does it do its job (sources reached, Slack "
                             "token accepted)")
    health.set_defaults(handler=cmd_health, settings_only=True)

    sources = commands.add_parser("sources", help="work with the configured sources")
    sources_commands = sources.add_subparsers(dest="sources_command", required=True,
                                              metavar="SUBCOMMAND")
    check = sources_commands.add_parser("check", help="fetch each source once and report")
    check.set_defaults(handler=_sources("cmd_sources_check"))
    disable = sources_commands.add_parser(
        "disable", help="stop polling a source (until `sources enable`); it stays in the archive")
    disable.add_argument("source_id", metavar="ID")
    disable.set_defaults(handler=_sources("cmd_sources_disable"))  # one UPDATE: fine beside a running daemon
    enable = sources_commands.add_parser("enable", help="poll a disabled source again")
    enable.add_argument("source_id", metavar="ID")
    enable.set_defaults(handler=_sources("cmd_sources_enable"))
    add_source = sources_commands.add_parser(
        "add", help="add a feed (or a site: its feed is found) after fetching it once")
    add_source.add_argument("url", metavar="URL")
    add_source.add_argument("--id", dest="source_id", help="source id (default: from the domain)")
    add_source.add_argument("--name", help="display name (default: the feed's title)")
    add_source.add_argument("--lang", choices=("en", "ja"), help="default: from the items")
    add_source.set_defaults(handler=_sources("cmd_sources_add"))
    suggest = sources_commands.add_parser(
        "suggest", help="sites relevant coverage keeps linking to that are not sources yet")
    suggest.add_argument("--limit", type=int, default=15, help="most suggestions (default 15)")
    suggest.add_argument("--find-feeds", action="store_true",
                         help="look for each suggestion's feed (fetches each site once)")
    suggest.set_defaults(handler=_sources("cmd_sources_suggest"))
    import_sources = sources_commands.add_parser(
        "import", help="add the feeds of an OPML file (a feed reader's export), each fetched once")
    import_sources.add_argument("file", metavar="FILE.opml")
    import_sources.set_defaults(handler=_sources("cmd_sources_import"))
    export_sources = sources_commands.add_parser(
        "export", help="write the config's and the added sources as OPML (for a feed reader)")
    export_sources.add_argument("--format", choices=("opml",), default="opml")
    export_sources.add_argument("--output", "-o", metavar="FILE",
                                help="write to FILE instead of standard output")
    export_sources.set_defaults(handler=_sources("cmd_sources_export"), reads=True)

    export = commands.add_parser(
        "export", help="write the archive as JSON Lines, CSV or WARC (streamed)")
    export.add_argument("--format", choices=("jsonl", "csv", "warc"), default="jsonl")
    export.add_argument("--since", help="first seen since: 7d, 24h, 2w or a date (2025-01-31)")
    export.add_argument("--topic", help="only articles with this topic id")
    export.add_argument("--relevant-only", action="store_true", help="only relevant articles")
    export.add_argument("--include-seeds", action="store_true",
                        help="also the seed documents (reference texts, not news: left out "
                             "by default)")
    export.add_argument("--output", "-o", metavar="FILE",
                        help="write to FILE instead of standard output (WARC: required)")
    export.set_defaults(handler=lambda app, args: _lazy("bot.export", "cmd_export")(app, args),
                        reads=True)

    stats = commands.add_parser(
        "stats", help="articles and stories per topic per week, top sources; --png for a chart")
    stats.add_argument("--weeks", type=int, default=12, help="weeks back (default 12)")
    stats.add_argument("--png", metavar="FILE", help="also draw the weekly topic counts here")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(handler=lambda app, args: _lazy("bot.stats", "cmd_stats")(app, args),
                       reads=True)

    archive = commands.add_parser("archive", help="work with the archive as a whole")
    archive_commands = archive.add_subparsers(dest="archive_command", required=True,
                                              metavar="SUBCOMMAND")
    archive_copy = archive_commands.add_parser(
        "copy", help="copy the SQLite archive into an empty PostgreSQL database (resumable)")
    archive_copy.add_argument("--to", required=True, metavar="URL",
                              help="postgresql+psycopg://user@host:5432/database")
    archive_copy.add_argument("--from", dest="source", metavar="URL",
                              help="the SQLite archive (default: storage.database)")
    archive_copy.add_argument("--chunk-rows", type=int, default=1000, metavar="N",
                              help="rows written per transaction (default 1000)")
    archive_copy.set_defaults(handler=cmd_archive_copy, settings_only=True)

    classify = commands.add_parser(
        "classify", help="classify JSON Lines (id, title, text, lang) into JSON Lines")
    classify.add_argument("--input", metavar="FILE", help="read FILE instead of standard input")
    classify.set_defaults(handler=cmd_classify, offline=True)

    evaluate = commands.add_parser("eval", help="score the classifier on labeled JSON Lines")
    evaluate.add_argument("file", metavar="FILE", help="labeled JSON Lines (the corpus format)")
    evaluate.add_argument("--json", action="store_true", help="machine-readable output")
    evaluate.add_argument("--stories", action="store_true",
                          help="score the story grouping (pairwise same-story precision/recall)")
    evaluate.set_defaults(handler=cmd_eval, offline=True)
    return parser


# --- run / poll -------------------------------------------------------------------------

def cmd_run(app: App, args: argparse.Namespace) -> int:
    import asyncio

    if not args.once:
        from bot.scheduler import run_forever

        if args.now:
            raise TechwatchError("--now goes with --once: the daemon keeps to the schedule "
                                 "(`techwatch poll --now` polls every source at once)")
        return asyncio.run(run_forever(app, deliver_due))
    _with_progress(lambda progress: run_cycle(app, progress, force=args.now))
    deliver_due(app)
    return 0  # failing sources are reported, and stay visible in `techwatch status`


def deliver_due(app: App, *, alerts: bool = True, digests: bool = True,
                channels: tuple[str, ...] = ()) -> DeliveryReport | None:
    """The cycle's alerts and ops notices and every due digest to Slack (or the terminal
    without a token); without Slack channels configured, the terminal digest."""
    from bot.notify.service import deliver

    slack = app.settings.slack
    if not (slack.digests or slack.alerts or app.archive.subscriptions()):
        if digests:
            send_digest(app)
        if not slack.ops_channel:
            return None
    outcome = deliver(app, alerts=alerts, digests=digests, channels=channels)
    report = outcome.report
    if report.sent or report.reconciled or report.pending or report.failed or report.expired:
        log.info("delivery: %d sent, %d found already posted, %d pending, %d failed%s%s",
                 report.sent, report.reconciled, report.pending, report.failed,
                 f", {report.expired} alerts expired unsent" if report.expired else "",
                 f", {report.held} waiting for their channel (earlier messages first, or Slack "
                 f"refused it or asked to wait)" if report.held else "")
    return report


def cmd_digest(app: App, args: argparse.Namespace) -> int:
    from bot.notify.service import TERMINAL_CHANNEL, deliver

    if not app.settings.slack.digests:
        if args.channel and args.channel != TERMINAL_CHANNEL:
            raise TechwatchError(f"no [[slack.digests]] table for channel {args.channel!r} "
                                 f"in {app.settings.config_file}")
        send_digest(app, record=not args.dry_run)
        return 0
    known = {d.channel for d in app.settings.slack.digests}
    if args.channel and args.channel not in known:
        raise TechwatchError(f"no [[slack.digests]] table for channel {args.channel!r}; "
                             f"configured: {', '.join(sorted(known))}")
    outcome = deliver(app, alerts=False, scheduled=False,
                      channels=(args.channel,) if args.channel else (),
                      always=args.always, dry_run=args.dry_run)
    if not outcome.digests:
        print("Nothing new since the last digest (use --always to send one anyway).",
              file=sys.stderr)
    elif app.slack_token and not args.dry_run:
        sent = outcome.report.sent
        print(f"Digest for {', '.join(outcome.digests)}: {sent} message{'s' * (sent != 1)} "
              "posted to Slack.", file=sys.stderr)
    return 1 if outcome.report.failed or (outcome.report.problems and not outcome.report.sent) \
        else 0


def cmd_poll(app: App, args: argparse.Namespace) -> int:
    _with_progress(lambda progress: run_cycle(app, progress, force=args.now))
    return 0


async def run_cycle(app: App, progress: Progress | None = None, *, force: bool = False,
                    ) -> CycleReport:
    from bot.app import open_pipeline

    async with open_pipeline(app) as pipeline:
        if not pipeline.sources():
            log.warning("no source to poll: add [[sources]] to %s, or `techwatch sources add "
                        "URL`", app.settings.sources_file)
        report = await pipeline.run(one_shot=True, force=force, progress=progress)
    log.info("cycle done: %s", report.summary())
    problem = reach_problem(report)
    if problem:
        log.warning("%s", problem)
    return report


def reach_problem(report: CycleReport) -> str | None:
    """What a one-shot cycle that reached no source has to say, on stderr."""
    from urllib.request import getproxies

    from bot.feeds import reach

    if not report.polled and report.backing_off:
        return reach.all_backing_off(len(report.backing_off), report.backing_off_until())
    proxies = getproxies()
    return reach.unreachable(report.polled, report.failed, report.errors,
                             proxied=bool(proxies.get("http") or proxies.get("https")))


def send_digest(app: App, *, record: bool = True) -> int:
    """Print the relevant stories not yet in the terminal's digest, and remember them."""
    from bot.notify.service import TERMINAL_CHANNEL, digest_content, taken_ids
    from bot.notify.terminal import console, print_digest

    if app.slack_token:
        log.warning("SLACK_BOT_TOKEN is set but no [[slack.digests]] table names a channel: "
                    "the digest is printed here")
    now = app.now()
    digest, articles = digest_content(app, TERMINAL_CHANNEL, now,
                                      min_score=app.settings.classify.relevance_threshold,
                                      limit=app.settings.digest.max_items)
    print_digest(digest, console())
    if record:
        app.archive.record_digest(TERMINAL_CHANNEL, now, taken_ids(digest, articles))
    return digest.total


def cmd_add(app: App, args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import open_pipeline
    from bot.pipeline import CycleReport
    from bot.store.rows import ADDED_SOURCE

    async def add_all() -> list[AddOutcome]:
        app.archive.ensure_source(ADDED_SOURCE, "Added by hand")
        async with open_pipeline(app) as pipeline:
            report = CycleReport()
            return [await pipeline.add_url(url, report) for url in args.urls]

    failed = 0
    for outcome in asyncio.run(add_all()):
        if outcome.status == "failed":
            failed += 1
            _say(f"add: {outcome.url}: {outcome.detail}")
            continue
        row = app.archive.article_row(outcome.article_id)
        verdict = (f"relevant {row.score:.2f}: {', '.join(row.topics or []) or 'no topic'}"
                   if row.relevant else f"not relevant ({row.score or 0:.2f})")
        word = "added" if outcome.status == "added" else "already archived"
        print(f"{word}: #{row.id} {row.title} — {verdict} <{redact(row.url)}>")
    return 1 if failed else 0


def cmd_backfill(app: App, args: argparse.Namespace) -> int:
    from bot.app import open_pipeline
    from bot.backfill import backfill_source
    from bot.pipeline import CycleReport
    from bot.since import parse_since

    since = parse_since(args.since, app.now()) if args.since else None
    chosen = [s for s in app.settings.sources if args.source in (None, s.id)]
    if args.source and not chosen:
        raise TechwatchError(f"no source {args.source!r} (sources: "
                             f"{', '.join(s.id for s in app.settings.sources) or 'none'})")

    async def run(progress: Progress | None) -> tuple[list, CycleReport]:
        async with open_pipeline(app) as pipeline:
            reports = [await backfill_source(pipeline, s, since, progress) for s in chosen]
            cycle = CycleReport()
            await pipeline.process_pending(cycle, progress=progress)
            return reports, cycle

    reports, cycle = _with_progress(run)
    for r in reports:
        for problem in r.problems:
            _say(f"backfill {r.source_id}: {problem}")
        print(f"{r.source_id}: {r.sitemaps} sitemaps read ({r.skipped_sitemaps} done before), "
              f"{r.urls} pages listed, {r.disallowed} disallowed by robots.txt, "
              f"{r.off_site} on other sites skipped, {r.added} new")
    print(f"fetched and archived {cycle.processed} pages "
          f"({', '.join(f'{k} {v}' for k, v in sorted(cycle.extraction.items())) or 'none'}), "
          f"{cycle.relevant} relevant, {cycle.deferred} deferred to a later run"
          + (f", {cycle.dropped} unreachable and not kept" if cycle.dropped else ""))
    return 0


def _with_progress(run: Callable[[Progress | None], Any]) -> Any:
    """Run a coroutine function with a progress bar on a terminal (none when piped)."""
    import asyncio

    import bot.extract.pool  # noqa: F401 -- imported before the loop runs, not stalling it
    import bot.pipeline  # noqa: F401

    if not sys.stderr.isatty():
        return asyncio.run(run(None))
    from rich.console import Console
    from rich.progress import Progress as RichProgress

    with RichProgress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def progress(stage: str, done: int) -> None:
            bar.update(task, description=stage, completed=done)

        return asyncio.run(run(progress))


# --- search -----------------------------------------------------------------------------

def cmd_search(app: App, args: argparse.Namespace) -> int:
    from bot.since import parse_since

    since = parse_since(args.since, app.now()) if args.since else None
    if args.topic and args.topic not in app.classifier.taxonomy.ids:
        raise TechwatchError(f"unknown topic {args.topic!r}; topics: "
                             + ", ".join(app.classifier.taxonomy.ids))
    results = app.archive.search(" ".join(args.query), topic=args.topic, since=since,
                                 limit=max(args.limit, 1))
    _print_results(results, args.json)
    return 0


def cmd_watch_test(app: App, args: argparse.Namespace) -> int:
    """What a watch would have alerted: the search it is, over `--since`, one story each, the
    relevant ones unless `--any` (search finds exactly what the watch's matcher matches)."""
    from bot.since import parse_since
    from bot.watches import query_problem

    query = " ".join(args.query)
    problem = query_problem(query)
    if problem:
        raise TechwatchError(f"watch test: {problem}")
    if args.topic and args.topic not in app.classifier.taxonomy.ids:
        raise TechwatchError(f"unknown topic {args.topic!r}; topics: "
                             + ", ".join(app.classifier.taxonomy.ids))
    since = parse_since(args.since, app.now())
    found = app.archive.search(query, topic=args.topic, since=since, lang=args.lang, limit=1000)
    matched = [a for a in found if a.relevant or args.any]
    if not args.json:
        kind = "stories" if args.any else "relevant stories"
        print(f"{len(matched)} {kind} since {since:%Y-%m-%d} match {query!r}"
              + (f" (the first {args.limit}):" if len(matched) > args.limit else ":"))
    _print_results(matched[:max(args.limit, 1)], args.json)
    return 0


def _print_results(results: list, as_json: bool) -> None:
    if as_json:
        for a in results:
            print(json.dumps({
                "id": a.id, "title": a.title, "url": a.url, "source": a.source_name,
                "published": a.published.isoformat() if a.published else None,
                "lang": a.lang, "relevant": a.relevant, "score": a.score,
                "topics": list(a.topics), "snippet": a.snippet, "story_id": a.story_id,
                "story_size": a.members, "also": list(a.also)}, ensure_ascii=False))
    else:
        from bot.notify.terminal import console, print_search

        print_search(results, console())


# --- status / sources -------------------------------------------------------------------

def cmd_status(app: App, args: argparse.Namespace) -> int:
    from bot.store.sources import source_health

    now = app.now()
    rows = app.archive.source_rows()
    outcomes = app.archive.fetch_outcomes(now - timedelta(hours=24))
    counts = app.archive.counts()
    extraction = app.archive.extraction_counts()
    holds = app.archive.channel_holds()
    workers = app.archive.workers(now)
    if args.json:
        print(json.dumps({
            "sources": [{"id": r.id, "name": r.name, "enabled": r.enabled,
                         "disabled_at": _iso(r.disabled_at), "health": source_health(r),
                         "failing_since": _iso(r.failing_since),
                         "interval_minutes": r.interval_minutes,
                         "last_status": r.last_status, "last_error": _clean(r.last_error),
                         "warning": _clean(r.warning), "consecutive_errors": r.consecutive_errors,
                         "last_polled_at": _iso(r.last_polled_at),
                         "last_new_item_at": _iso(r.last_new_item_at),
                         "next_poll_at": _iso(r.next_poll_at)} for r in rows],
            "fetches_24h": [{"kind": k, "outcome": o, "count": n}
                            for (k, o), n in sorted(outcomes.items())],
            "archive": counts, "extraction": dict(extraction),
            "pending_deliveries": app.archive.pending_delivery_count(),
            "held_channels": [{"channel": h.channel, "error": _clean(h.error), "since": _iso(h.since),
                               "tries": h.tries, "next_try": _iso(h.retry_at)}
                              for h in holds.values()],
            "feedback_votes": app.archive.feedback_count(),
            "workers": [{"id": w.id, "host": w.host, "pid": w.pid, "alive": w.alive,
                         "started_at": _iso(w.started_at), "heartbeat_at": _iso(w.heartbeat_at),
                         "claimed_sources": w.sources, "claimed_articles": w.articles}
                        for w in workers]}, ensure_ascii=False, indent=2))
        return 0
    from rich.table import Table

    from bot.notify.terminal import console, escape

    out = console()
    table = Table(title="Sources", expand=True)
    for column in ("id", "status", "errors", "last poll", "last new item", "next poll",
                   "problem"):
        table.add_column(column, overflow="fold")
    for r in rows:
        health = state = source_health(r)
        if health == "failing":
            health = f"failing since {_short(r.failing_since)}"
        elif health == "ok":
            health = r.last_status
        table.add_row(*map(escape, (
            r.id, health, str(r.consecutive_errors), _short(r.last_polled_at),
            _short(r.last_new_item_at),
            _short(r.next_poll_at) if state in ("ok", "failing") else "never",
            _clean(r.last_error or r.warning) or "")))
    out.print(table)
    out.print("Fetches in the last 24 h: " + (", ".join(
        f"{k} {o}: {n}" for (k, o), n in sorted(outcomes.items())) or "none"))
    out.print("Extraction: " + (", ".join(
        f"{s} {n}" for s, n in sorted(extraction.items())) or "none"))
    out.print(f"Archive: {counts['articles']} articles ({counts['relevant']} relevant, "
              f"{counts['pending']} pending), {counts['seeds']} seed documents")
    pending, votes = app.archive.pending_delivery_count(), app.archive.feedback_count()
    out.print(f"Slack: {pending} message{'' if pending == 1 else 's'} pending; "
              f"{votes} feedback vote{'' if votes == 1 else 's'}")
    _print_workers(out, workers, app.archive.shared)
    for h in holds.values():
        from bot.notify.slack import RATE_LIMITED  # loads Slack's SDK: only for a held channel

        next_try = _short(h.retry_at) if h.retry_at > app.now() else "on the next run"
        if h.error == RATE_LIMITED:
            out.print(f"Slack asked to wait before posting to {escape(h.channel)} again; its "
                      f"messages wait, next try {next_try}")
        else:
            out.print(f"Slack refuses {escape(h.channel)}: {escape(scrub(h.error))} since "
                      f"{_short(h.since)}; its messages wait, next try {next_try}")
    return 0


def _print_workers(out: Any, workers: list, shared: bool) -> None:
    """The cluster: each `techwatch run` worker not stopped, alive or silent, with its claims."""
    from rich.table import Table

    from bot.notify.terminal import escape

    alive = sum(w.alive for w in workers)
    if not shared and not workers:
        return
    table = Table(title=f"Workers ({alive} alive" + (", PostgreSQL)" if shared else ")"),
                  expand=True)
    for column in ("worker", "state", "started", "last heartbeat", "claims"):
        table.add_column(column, overflow="fold")
    for w in workers:
        table.add_row(escape(w.id), "alive" if w.alive else "silent (its claims lapse)",
                      _short(w.started_at), _short(w.heartbeat_at),
                      f"{w.sources} sources, {w.articles} articles")
    out.print(table)


def cmd_serve(app: App, args: argparse.Namespace) -> int:
    from bot.health import serve_probes
    from bot.slackapp.serve import ServeHealth, check_token, start_slack_app, token_watch
    from bot.web.serve import start_web, web_pages

    if not app.slack_token:
        raise SettingError("serve: SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
    pages = web_pages(app)  # the archive's pages when [web] port is set; a missing secret: now
    health = ServeHealth(token_watch(app, check_token(app)))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    close = start_slack_app(app, host=args.host, port=args.port)
    if close is None:
        raise TechwatchError("serve: --port 0 serves nothing without SLACK_APP_TOKEN "
                             "(Socket Mode)")
    health.running = close
    try:
        web = start_web(app, pages) if pages is not None else None
    except TechwatchError:
        close()
        raise
    probes = serve_probes(health, None, app.settings.health)  # /healthz, /readyz, /metrics
    stop.wait()
    close()
    if web is not None:
        web.shutdown()
    if probes is not None:
        probes.shutdown()
    if health.token is not None:
        health.token.stop()
    log.info("slack app stopped")
    return 0


WEB_PORT = 8080  # `techwatch web` without a port from the command line, config or environment


def cmd_web(app: App, args: argparse.Namespace) -> int:
    """The web pages alone (no Slack, no polling): beside `techwatch run`, or on a copy of an
    archive; read-only."""
    from dataclasses import replace

    from bot.web.serve import start_web, web_pages, web_port

    web = app.settings.web
    port = args.port if args.port is not None else (web_port(app) or WEB_PORT)
    app.settings = replace(app.settings, web=replace(web, port=port, host=args.host or web.host))
    app.env = {k: v for k, v in app.env.items() if k != "TECHWATCH_WEB_PORT"}  # said above
    pages = web_pages(app)
    if pages is None:
        raise TechwatchError("web: --port 0 serves nothing")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server = start_web(app, pages)
    stop.wait()
    server.shutdown()
    log.info("web pages stopped")
    return 0


def cmd_feedback_export(app: App, args: argparse.Namespace) -> int:
    from bot.feedback import labels

    try:
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    except OSError as e:
        raise TechwatchError(f"feedback export: cannot write {args.output}: {e.strerror}") \
            from None
    count = 0
    try:
        for item in labels(app.archive.feedback_labels()):
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if args.output:
            out.close()
    print(f"exported {count} labeled articles", file=sys.stderr)
    return 0


def cmd_health(settings: Settings, args: argparse.Namespace) -> int:
    import httpx

    health = settings.health
    if not health.port:
        _say("health: not served ([health] port is 0)")
        return 1
    # a daemon listening on every address (0.0.0.0 in a container) answers on loopback
    host = "127.0.0.1" if health.host in ("0.0.0.0", "::", "[::]") else health.host
    url = f"http://{host}:{health.port}/{'readyz' if args.ready else 'healthz'}"
    try:
        response = httpx.get(url, timeout=5)
    except httpx.HTTPError as e:
        _say(f"health: {url}: no answer ({e})")
        return 1
    answer = " ".join(response.text.split())  # one line, whatever answered on that port
    print(f"{url}: {response.status_code} {answer[:200]}")
    return 0 if response.status_code == 200 else 1


# --- archive copy -----------------------------------------------------------------------

def cmd_archive_copy(settings: Settings, args: argparse.Namespace) -> int:
    """Copy the SQLite archive into an empty PostgreSQL database (bot.store.copy): run again
    after an interruption, it goes on where it stopped. It opens no App (no seeds, no sources
    synced: the copy is the archive as it is), so it says its own errors."""
    from bot.errors import StorageError
    from bot.store import copy

    source = args.source or settings.storage.database
    try:
        with copy.opened(source, args.to) as (source_engine, target_engine), \
                copy.writers_stopped(source), _copy_progress() as progress:
            counts = copy.copy_archive(source_engine, target_engine,
                                       chunk_rows=max(args.chunk_rows, 1), progress=progress)
    except (StorageError, SettingError) as e:
        _say(str(e))
        return 2
    except TechwatchError as e:
        _say(str(e))
        return 1
    except _database_errors() as e:
        _say(f"archive copy: database error: {_one_line(e)}")
        return 1
    except KeyboardInterrupt as e:
        _say("archive copy: interrupted; the same command again goes on where it stopped")
        return 143 if isinstance(e, Terminated) else 130
    from rich.table import Table

    from bot.notify.terminal import console

    table = Table(title="Rows copied")
    for column in ("table", "source", "target", ""):
        table.add_column(column, justify="left" if column == "table" else "right")
    for c in counts:
        table.add_row(c.table, str(c.source), str(c.target),
                      "ok" if c.source == c.target else "[red]differs[/]")
    console().print(table)
    problems = copy.mismatches(counts)
    if problems:
        _say(f"archive copy: the counts differ: {'; '.join(problems)}")
        return 1
    print(f"Copied. To use it, set storage.database (or $TECHWATCH_DATABASE_URL) to "
          f"{copy.shown(copy.target_url(args.to))}")
    return 0


@contextlib.contextmanager
def _copy_progress() -> Iterator[Callable[[str, int, int], None] | None]:
    """A bar a table on a terminal (none when piped): rows there of rows to copy."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    with RichProgress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        tasks: dict[str, Any] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done)

        yield progress


# --- classify / eval ----------------------------------------------------------------------

def cmd_classify(classifier: Classifier, args: argparse.Namespace) -> int:
    from bot.classify.jsonl import classify_line, dumps_line, read_jsonl

    def results() -> Iterator[str]:
        for number, item, error in read_jsonl(_read_lines(args.input, "classify")):
            output = classify_line(number, item, error, classifier)
            if "error" in output:
                log.warning("classify: %s", output["error"])
            yield dumps_line(output)

    return _write_lines(results(), "classify")


MAX_SKIP_WARNINGS = 10  # a file that is not JSON Lines at all says so in a few lines


def cmd_eval(classifier: Classifier, args: argparse.Namespace) -> int:
    from bot.classify.jsonl import check_labeled, read_jsonl

    rows, skipped, ids = [], 0, set()
    for number, item, error in read_jsonl(_read_lines(args.file, "eval")):
        error = error or check_labeled(number, item, stories=args.stories)
        if not error:  # stories are paired by id: a second one would hide the first
            item["id"] = str(item.get("id") or f"line {number}")
            if item["id"] in ids:
                error = f"line {number}: id {item['id']!r} again (the first one is kept)"
        if not error:
            rows.append(item)
            ids.add(item["id"])
            continue
        skipped += 1
        if skipped <= MAX_SKIP_WARNINGS:
            log.warning("eval: skipped %s", error)
    if skipped > MAX_SKIP_WARNINGS:
        log.warning("eval: skipped %d more lines", skipped - MAX_SKIP_WARNINGS)
    where = args.file or "the input"
    if not rows:
        raise TechwatchError(f"eval: no labeled items to score in {where}")
    if args.stories and not any(row.get("event") for row in rows):
        raise TechwatchError(f"eval --stories: no 'event' labels in {where}")
    if args.stories:
        from bot.config import config_path, load_settings
        from bot.stories.evaluate import evaluate_stories

        settings = load_settings(config_path(args.config, os.environ), os.environ)
        story_report = evaluate_stories(rows, settings.stories, load_glossary(settings))
        output = json.dumps(story_report.as_dict()) if args.json else story_report.render()
    else:
        from bot.classify.evaluate import evaluate, render_report

        report = evaluate(rows, classifier)
        for topic in sorted(report.unknown_topics):
            log.warning("eval: topic %r is not in the taxonomy: its labels count as missed",
                        topic)
        output = (json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if args.json
                  else render_report(report))
    return _write_lines([output], "eval")


def _read_lines(path: str | None, command: str) -> Iterator[str]:
    """Lines of a UTF-8 file or of standard input, split at newlines only (a stray carriage
    return stays inside its line), a byte-order mark dropped; undecodable bytes become U+FFFD
    (the line is then judged as it is) rather than stopping the run."""
    name = path or "standard input"
    try:
        if path is None:
            if sys.stdin is None:
                raise TechwatchError(f"{command}: standard input is closed")
            stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", errors="replace",
                                      newline="\n")
        else:
            stream = open(path, encoding="utf-8-sig", errors="replace", newline="\n")  # noqa: SIM115
        with stream:
            yield from stream
    except OSError as e:
        raise TechwatchError(f"{command}: cannot read {name}: {e.strerror or e}") from None


def _write_lines(lines: Iterable[str], command: str) -> int:
    """Print each line; a reader that went away (`| head`) ends the run quietly, a full disk is
    one line."""
    if sys.stdout is None:
        raise TechwatchError(f"{command}: standard output is closed")
    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:
        return quiet_stdout()
    except OSError as e:
        raise TechwatchError(f"{command}: cannot write the output: {e.strerror or e}") from None
    return 0


def quiet_stdout() -> int:
    """The reader went away (`| head`): nothing left to say. Standard output is pointed at
    /dev/null, since Python flushes it at exit and would fail again with a message (the recipe
    in the `signal` module's docs)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def _sources(name: str) -> Callable[[App, argparse.Namespace], int]:
    """A `techwatch sources` command's handler (bot.sources_cli), loaded when it runs."""
    return lambda app, args: _lazy("bot.sources_cli", name)(app, args)


def _lazy(module: str, name: str) -> Callable[[App, argparse.Namespace], int]:
    """A handler whose module (matplotlib, warcio) loads only when its command runs."""
    import importlib

    return getattr(importlib.import_module(module), name)


def _database_errors() -> type[Exception] | tuple[()]:
    """What to catch as a database error: SQLAlchemy's, once it is loaded (before, none can have
    been raised), so that a command that never opens the archive does not load it."""
    loaded = sys.modules.get("sqlalchemy.exc")
    return loaded.SQLAlchemyError if loaded else ()


def _one_line(error: Exception) -> str:
    return " ".join(str(getattr(error, "orig", None) or error).split())[:300]


def _clean(problem: str | None) -> str | None:
    """A stored error or warning as `status` shows it: one line, no secret (it may hold a URL
    from a time before redaction, or a library's message)."""
    return scrub(problem) if problem else problem


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _short(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "–"
