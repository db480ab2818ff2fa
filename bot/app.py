"""Composition root: config -> archive, classifier, HTTP client, process pool -> Pipeline."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import forkserver
from pathlib import Path
from typing import TYPE_CHECKING

from bot.classify import Classifier, Taxonomy
from bot.config import ENV_SLACK_TOKEN, Settings, config_path, load_settings
from bot.errors import ConfigError, TechwatchError
from bot.feeds.fetch import Fetcher, build_client
from bot.feeds.identity import canonical_url
from bot.models import Source
from bot.pipeline import Pipeline, start_worker
from bot.seeds import read_seeds
from bot.store import Archive, open_archive
from bot.store.archive import archive_file, check_location
from bot.stories.glossary import Glossary

if TYPE_CHECKING:
    from bot.feeds.discover import FoundFeed  # loads trafilatura: imported when used

log = logging.getLogger("techwatch")


def utcnow() -> datetime:
    return datetime.now(UTC)


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

    @property
    def slack_token(self) -> str | None:
        return self.env.get(ENV_SLACK_TOKEN) or None

    def close(self) -> None:
        self.archive.close()


def load_classifier(settings: Settings) -> Classifier:
    taxonomy = Taxonomy.from_dict(settings.topics, str(settings.topics_file))
    return Classifier(taxonomy, settings.classify.relevance_threshold)


def load_glossary(settings: Settings) -> Glossary:
    return Glossary.from_dict(settings.glossary, str(settings.glossary_file))


def check_subscribed_topics(settings: Settings, classifier: Classifier) -> None:
    """Slack channels may only name topics the taxonomy has."""
    for key, tables in (("digests", settings.slack.digests), ("alerts", settings.slack.alerts)):
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
    with the seed documents only."""
    settings = load_settings(config_path(cli_config, env), env)
    classifier = load_classifier(settings)
    check_subscribed_topics(settings, classifier)
    glossary = load_glossary(settings)
    file = archive_file(settings.storage.database)
    new_archive = file is not None and not file.exists()
    if reads and new_archive:
        check_location(settings.storage.database)
    archive = open_archive("sqlite://" if reads and new_archive else settings.storage.database)
    archive.sync_sources(settings.sources)
    app = App(settings, archive, classifier, glossary, env, now or utcnow,
              new_archive=new_archive)
    load_seeds(app)
    return app


def load_seeds(app: App) -> int:
    """Archive the seed documents on first run, so a new install has searchable content; a
    first run stopped halfway is completed by the next (each seed is added once)."""
    directory = next((d for d in (app.settings.seeds_dir, Path("seeds")) if d.is_dir()), None)
    archived = app.archive.seed_count()
    if directory is None:
        if not archived:
            log.warning("seed documents not found at %s; the archive starts empty",
                        app.settings.seeds_dir)
        return 0
    seeds = read_seeds(directory)
    if archived >= len(seeds):
        app.archive.count_seed_documents()  # an archive from before migration 0009
        return 0
    app.archive.ensure_seed_source()
    for seed in seeds:
        classification = app.classifier.classify(seed.title, seed.text)
        app.archive.add_seed(seed.name, seed.title, seed.text, classification, app.now())
    return len(seeds) - archived


@asynccontextmanager
async def open_fetcher(app: App) -> AsyncIterator[Fetcher]:
    """The HTTP side alone (checking or finding feeds needs no extraction pool)."""
    client = build_client(app.settings.fetch)
    try:
        yield Fetcher(client, app.settings.fetch, now=app.now)
    finally:
        await client.aclose()


@asynccontextmanager
async def open_pipeline(app: App) -> AsyncIterator[Pipeline]:
    """One HTTP client and one warm extraction pool for the life of a run."""
    settings = app.settings
    workers = settings.extract.workers or os.cpu_count() or 1
    # forkserver: workers are not forked from a process that runs an event loop and threads
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["bot.lifeline_preload"])  # the server dies with us
    start_helpers_deaf_to_hangup()
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker)
    try:
        async with open_fetcher(app) as fetcher:
            yield Pipeline(settings, app.archive, app.classifier, fetcher, pool, app.now,
                           app.glossary)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def start_helpers_deaf_to_hangup() -> None:
    """Start multiprocessing's forkserver and resource tracker with SIGHUP blocked (the mask
    outlives exec, and the workers inherit it): when the terminal closes, the hangup reaches
    the whole process group, and the tracker, killed by it, printed a traceback for each of
    our semaphores. techwatch stops on the hangup and ends them itself (or the kernel does,
    bot.lifeline)."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """End the extraction processes now (shutdown would wait for a page in flight, up to the
    extraction timeout). Python 3.11 has no public call for it: the pool's process table."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, AttributeError):
            process.terminate()


async def add_feed_source(app: App, url: str, *, private_ok: bool = True,
                          source_id: str | None = None, name: str | None = None,
                          lang: str | None = None) -> tuple[Source, FoundFeed]:
    """`techwatch sources add` and `/techwatch add-source`: the feed at `url` (or the one its
    site announces), fetched once, becomes a source polled from the next cycle."""
    from bot.feeds.discover import find_feed, new_source

    async with open_fetcher(app) as fetcher:
        found = await find_feed(fetcher, url, private_ok=private_ok)
    rows = app.archive.source_rows()
    same = {canonical_url(row.url): row.id for row in rows}.get(canonical_url(found.url))
    if same:
        raise TechwatchError(f"{found.url} is a source already ({same})")
    taken = {row.id for row in rows} | {s.id for s in app.settings.sources}
    source = new_source(found, taken, source_id=source_id, name=name, lang=lang)
    app.archive.add_source(source, app.now())
    return source, found
