"""Composition root: config -> archive, classifier, HTTP client, process pool -> Pipeline."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import ConfigError, TechwatchError

if TYPE_CHECKING:  # each loaded where it is used: a command imports only what it needs
    from bot.classify import Classifier
    from bot.config import Settings
    from bot.extract.pool import ExtractionPool
    from bot.feeds.discover import FoundFeed  # loads trafilatura: imported when used
    from bot.feeds.fetch import Fetcher
    from bot.models import Source
    from bot.pipeline import Pipeline
    from bot.store import Archive
    from bot.stories.glossary import Glossary

log = logging.getLogger("techwatch")


def utcnow() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    """This process's name among the archive's workers: host, pid and a random part (a pid is
    reused after a restart, in a container always)."""
    import secrets
    import socket

    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


@dataclass
class App:
    settings: Settings
    archive: Archive
    classifier: Classifier
    glossary: Glossary  # Japanese terms in English: what grouping compares across languages
    env: Mapping[str, str] = field(repr=False)  # holds secrets: never printed
    now: Callable[[], datetime] = utcnow
    # Slack refused the token (its error): said once, not tried again by this process (a new
    # token comes with a restart; `run --once` from cron tries each run)
    token_refused: dict[str, str] = field(default_factory=dict, repr=False)
    new_archive: bool = False  # no database file was there: this run made it
    # per channel, the latest completion time of the articles its watches were matched against:
    # a cycle matches only what completed since (at start, the alert window's)
    watch_marks: dict[str, datetime] = field(default_factory=dict, repr=False)
    worker: str = field(default_factory=worker_name)  # its name in the archive's workers table
    _extraction: ExtractionPool | None = field(default=None, repr=False)
    _extraction_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def slack_token(self) -> str | None:
        from bot.config import ENV_SLACK_TOKEN

        return self.env.get(ENV_SLACK_TOKEN) or None

    @property
    def extraction(self) -> ExtractionPool | None:
        """The pool of extraction workers, if this process has started it (none is started)."""
        return self._extraction

    def extraction_pool(self) -> ExtractionPool:
        """The one pool of extraction workers of this process, for every caller (polls, each
        Slack `/techwatch add`): made at the first call, which must come from the main thread
        (see bot.extract.pool)."""
        with self._extraction_lock:
            if self._extraction is None:
                from bot.extract.cpus import usable_cpus
                from bot.extract.pool import ExtractionPool  # starts processes: only when needed
                from bot.pipeline import analyst_for

                extract = self.settings.extract
                self._extraction = ExtractionPool(  # 0: one per CPU the container may use
                    extract.workers or usable_cpus(), extract.timeout_seconds,
                    analyst_for(self.settings, self.classifier, self.glossary))
            return self._extraction

    def close(self) -> None:
        if self._extraction is not None:
            self._extraction.close()
        self.archive.close()


def load_classifier(settings: Settings) -> Classifier:
    from bot.classify import Classifier, Taxonomy

    taxonomy = Taxonomy.from_dict(settings.topics, str(settings.topics_file))
    return Classifier(taxonomy, settings.classify.relevance_threshold)


def load_glossary(settings: Settings) -> Glossary:
    from bot.stories.glossary import Glossary

    return Glossary.from_dict(settings.glossary, str(settings.glossary_file))


def check_subscribed_topics(settings: Settings, classifier: Classifier) -> None:
    """Slack channels may only name topics the taxonomy has."""
    for key, tables in (("digests", settings.slack.digests), ("alerts", settings.slack.alerts),
                        ("watches", settings.slack.watches)):
        for i, table in enumerate(tables):
            unknown = [t for t in table.topics if t not in classifier.taxonomy.ids]
            if unknown:
                raise ConfigError(str(settings.config_file), f"slack.{key}[{i}].topics",
                                  f"unknown topic {unknown[0]!r} (topics: "
                                  f"{', '.join(classifier.taxonomy.ids)})")


def load_app(cli_config: str | None, env: Mapping[str, str],
             now: Callable[[], datetime] | None = None, *, reads: bool = False) -> App:
    """`reads`: for a command that only reads the archive, a missing file is not made (a
    mistyped path must not leave files and directories behind): it reads an archive in memory
    with the seed documents only. An existing one is opened read-only and nothing is written
    (the config's sources and the seeds are synced by the next writing command), so another
    user's archive or a backup can be read, and a reader never waits for the daemon's writes."""
    from bot.config import config_path, load_settings
    from bot.store.database import archive_file, check_location, open_archive

    settings = load_settings(config_path(cli_config, env), env)
    classifier = load_classifier(settings)
    check_subscribed_topics(settings, classifier)
    glossary = load_glossary(settings)
    file = archive_file(settings.storage.database)
    new_archive = file is not None and not file.exists()
    if reads and new_archive:
        check_location(settings.storage.database)
    archive = open_archive("sqlite://" if reads and new_archive else settings.storage.database,
                           read_only=reads)
    if not archive.read_only:
        archive.sync_sources(settings.sources)
    app = App(settings, archive, classifier, glossary, env, now or utcnow,
              new_archive=new_archive)
    if not archive.read_only:
        load_seeds(app)
    return app


def load_seeds(app: App) -> int:
    """Archive the seed documents on first run, so a new install has searchable content; a
    first run stopped halfway is completed by the next (each seed is added once)."""
    from bot.seeds import read_seeds

    directory = next((d for d in (app.settings.seeds_dir, Path("seeds")) if d.is_dir()), None)
    archived = app.archive.seed_count()
    if directory is None:
        if not archived:
            log.warning("seed documents not found at %s; the archive starts empty",
                        app.settings.seeds_dir)
        return 0
    seeds = read_seeds(directory, app.now())
    if archived >= len(seeds):
        app.archive.count_seed_documents()  # an archive from before migration 0009
        app.archive.date_seeds({s.name: s.published for s in seeds})  # once: dated by the text
        return 0
    app.archive.ensure_seed_source()
    for seed in seeds:
        classification = app.classifier.classify(seed.title, seed.text)
        app.archive.add_seed(seed.name, seed.title, seed.text, classification, app.now(),
                             seed.published)
    return len(seeds) - archived


@asynccontextmanager
async def open_fetcher(app: App) -> AsyncIterator[Fetcher]:
    """The HTTP side alone (checking or finding feeds needs no extraction pool)."""
    import asyncio

    from bot.feeds.fetch import Fetcher, build_client

    # loading the CA certificates takes a while: not on the loop, which may serve Slack
    client = await asyncio.to_thread(build_client, app.settings.fetch)
    try:
        yield Fetcher(client, app.settings.fetch, now=app.now)
    finally:
        await client.aclose()


@asynccontextmanager
async def open_pipeline(app: App) -> AsyncIterator[Pipeline]:
    """One HTTP client for the life of a run, and the process's extraction pool."""
    from bot.pipeline import Pipeline

    async with open_fetcher(app) as fetcher:
        pipeline = Pipeline(app.settings, app.archive, app.classifier, fetcher,
                            app.extraction_pool, app.now, app.glossary, worker=app.worker)
        try:
            yield pipeline
        finally:
            await pipeline.close()


@contextmanager
def as_worker(app: App) -> Iterator[None]:
    """A command that writes (`run`, `poll`, `digest`, `backfill`): one of the archive's
    workers while it runs, its heartbeat written from a thread every HEARTBEAT_SECONDS (a long
    one-shot cycle is not taken for dead), its claims given back when it stops."""
    from bot.health import HEARTBEAT_SECONDS

    join_workers(app)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                app.archive.heartbeat(app.worker, app.now())
            except Exception:  # noqa: BLE001 -- the next beat tries again; claims lapse if not
                log.debug("worker %s: heartbeat failed", app.worker, exc_info=True)

    beating = threading.Thread(target=beat, name="techwatch-heartbeat", daemon=True)
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join(timeout=5)
        try:
            app.archive.worker_stopped(app.worker, app.now())
        except Exception:  # noqa: BLE001 -- a damaged or lost archive was said already; the
            log.debug("worker %s: not marked stopped", app.worker, exc_info=True)  # claims lapse


def join_workers(app: App) -> None:
    """Register this process among the archive's workers, and say in one line how it runs: on
    PostgreSQL beside how many peers, or alone on its SQLite file (its lock file keeps any other
    writer out). A worker of this machine whose process is gone (killed) is known dead at once:
    its claims return now, not when its heartbeat has aged."""
    import socket

    from bot.store.cluster import DEAD_AFTER

    archive, now, host = app.archive, app.now(), socket.gethostname()
    for worker in archive.workers(now):
        if worker.host == host and not _running(worker.pid):
            archive.worker_stopped(worker.id, now)
    archive.register_worker(app.worker, host, os.getpid(), now)
    if archive.shared:
        peers = [w for w in archive.workers(now) if w.alive and w.id != app.worker]
        log.info("worker %s: PostgreSQL archive %s shared with %d other worker%s alive "
                 "(heartbeat in the last %d s)", app.worker, archive.engine.url.render_as_string(),
                 len(peers), "" if len(peers) == 1 else "s", DEAD_AFTER.total_seconds())
    else:
        log.debug("worker %s: SQLite archive %s, this process alone (lock file)", app.worker,
                  archive.engine.url.database)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


async def add_feed_source(app: App, url: str, *, from_slack: bool = False,
                          source_id: str | None = None, name: str | None = None,
                          lang: str | None = None) -> tuple[Source, FoundFeed]:
    """`techwatch sources add` and `/techwatch add-source`: the feed at `url` (or the one its
    site announces), fetched once, becomes a source polled from the next cycle. One added from
    Slack reaches private addresses only if `[slack] allow_private_sources`, now and later."""
    from bot.feeds.discover import find_feed, new_source
    from bot.feeds.identity import canonical_url

    private_ok = app.settings.slack.allow_private_sources if from_slack else True
    async with open_fetcher(app) as fetcher:
        found = await find_feed(fetcher, url, private_ok=private_ok)
    rows = app.archive.source_rows()
    same = {canonical_url(row.url): row.id for row in rows}.get(canonical_url(found.url))
    if same:
        raise TechwatchError(f"{found.url} is a source already ({same})")
    taken = {row.id for row in rows} | {s.id for s in app.settings.sources}
    source = replace(new_source(found, taken, source_id=source_id, name=name, lang=lang),
                     from_slack=from_slack)
    app.archive.add_source(source, app.now())
    return source, found
