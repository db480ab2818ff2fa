"""Several workers on one PostgreSQL archive: three real `techwatch run` processes share a local
news site's work, two are killed with SIGKILL mid-cycle, and still every article is archived
once, every page fetched once (a killed worker's pages in flight at most once more), every story
alerted once and each digest posted once; and story grouping stays one story, with exact
document frequencies, when many reports of one event are completed at once by several archives.

PostgreSQL only: without $TECHWATCH_TEST_POSTGRES_URL these skip (tests/pgdb.py)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from conftest import ROOT, write_config
from livesite import free_port
from pgdb import throwaway_database
from sitesrv import Site
from slackstub import TOKEN, SlackStub
from storytexts import FUSION_DEAL, OTHER_FUSION_DEAL, TEMPLATE_DEALS
from wiresite import WireSite

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
DIGESTS = {"C0DIGEST": "Asia/Tokyo", "C0DIGEST2": "America/New_York"}


# --- three `techwatch run` workers, two killed mid-cycle ------------------------------------------

def techwatch() -> list[str]:
    """The installed command (the console script beside this Python), else its module."""
    script = Path(sys.executable).with_name("techwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def cluster_config(directory: Path, wire: WireSite, database: str, digest_at: datetime) -> Path:
    """Every wire feed polled once (static feeds: an hour between polls), a tick a second, short
    fetch timeouts; alerts, and two digests due at `digest_at` (in two time zones)."""
    digests = "".join(f"""
[[slack.digests]]
channel = "{channel}"
time = "{digest_at.astimezone(ZoneInfo(zone)):%H:%M:%S}"
timezone = "{zone}"
max_stories = 100
""" for channel, zone in DIGESTS.items())
    config = write_config(directory, wire.sources(), database=database, extra=f"""
[poll]
default_poll_minutes = 60
min_minutes = 60
max_minutes = 120
tick_seconds = 1
[slack]
alert_max_age_hours = 72
alert_hourly_cap = 1000
{digests}
[[slack.alerts]]
channel = "C0ALERTS"
min_score = 0.5
""")
    config.write_text(config.read_text().replace("[extract]\nworkers = 2", "[extract]\nworkers = 1"))
    return config


class Worker:
    """One `techwatch run` process with its own health port; its output in a file (a pipe
    nobody reads would fill and stall it)."""

    def __init__(self, config: Path, slack: SlackStub, database: str, log: Path) -> None:
        self.port = free_port()
        self.log = log
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": TOKEN,
               "SLACK_API_URL": slack.url, "TECHWATCH_DATABASE_URL": database,
               "TECHWATCH_HEALTH_PORT": str(self.port)}
        with log.open("wb") as out:
            self.process = subprocess.Popen([*techwatch(), "--config", str(config), "run"],
                                            env=env, stdout=out, stderr=subprocess.STDOUT,
                                            cwd=config.parent, start_new_session=True)
        self.pid = self.process.pid

    def end(self) -> None:
        """Its processes gone (a killed worker's extraction processes end by themselves)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=10)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def running(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class Cluster:
    """What the test reads of the shared archive (plain SQL: the schema's names)."""

    def __init__(self, database: str) -> None:
        self.engine = sa.create_engine(database, poolclass=sa.pool.NullPool)

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as db:
            return db.execute(sa.text(sql), params).all()

    def worker_id(self, pid: int) -> str | None:
        found = self.rows("SELECT id FROM workers WHERE pid = :pid ORDER BY started_at DESC",
                          pid=pid)
        return found[0][0] if found else None

    def claimed_urls(self, worker: str | None) -> set[str]:
        """The pages a worker has claimed and not finished: fetching, or about to."""
        return {r[0] for r in self.rows(
            "SELECT url FROM articles WHERE claimed_by = :w AND state = 'pending'", w=worker)}

    def silent(self, pids: set[int], longer_than: timedelta) -> int:
        """How many of these workers have been silent longer than that."""
        from bot.store.schema import workers

        query = sa.select(sa.func.count()).where(
            workers.c.pid.in_(pids), workers.c.heartbeat_at < datetime.now(UTC) - longer_than)
        with self.engine.connect() as db:
            return db.execute(query).scalar_one()

    def done(self) -> int:
        return self.rows("SELECT count(*) FROM articles WHERE state = 'done' "
                         "AND source_id != 'seed'")[0][0]

    def story_of(self) -> dict[str, int]:
        return dict(self.rows("SELECT url, coalesce(story_id, id) FROM articles"))

    def relevant_stories(self) -> set[int]:
        return {r[0] for r in self.rows("SELECT DISTINCT coalesce(story_id, id) FROM articles "
                                        "WHERE relevant AND source_id != 'seed'")}


def alert_roots(slack: SlackStub) -> list[str]:
    """The article link of each alert (a thread's first message; replies name more outlets)."""
    return [u for post in slack.posts("C0ALERTS") if not post.get("thread_ts")
            for u in re.findall(r"<(http://127\.0\.0\.1:\d+/wire/[^|>]+\.html)\|",
                                json.dumps(post.get("blocks")))[:1]]


def kill_with_claims(worker: Worker, cluster: Cluster, wire: WireSite, seconds: float,
                     ) -> set[str]:
    """SIGKILL the worker mid-cycle: once it holds claimed pages of which the site has already
    seen a request (or when `seconds` pass); the pages it held, which may be fetched again."""
    def fetching() -> bool:
        held = cluster.claimed_urls(cluster.worker_id(worker.pid))
        hits = wire.hits()
        return any(hits[_path(u)] for u in held)

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not fetching():
        time.sleep(0.05)
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait(timeout=10)
    return cluster.claimed_urls(cluster.worker_id(worker.pid))


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def status(config: Path, database: str, *args: str) -> str:
    done = subprocess.run([*techwatch(), "--config", str(config), "status", *args],
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "TECHWATCH_DATABASE_URL": database, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=60, cwd=config.parent)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_three_workers_share_the_work_and_two_killed_midway_lose_and_repeat_nothing(tmp_path):
    """Three `techwatch run` on one PostgreSQL archive and a site of 240 pages behind 6 feeds
    (25 US-Japan stories among local news: the fusion deal told by three outlets in three feeds
    is one of them). One worker is killed with SIGKILL while it fetches pages it claimed, then
    another; the third finishes, taking over their claims once they lapse. Each page archived
    once and fetched once (a killed worker's claimed pages at most once more); each story alerted
    once; each digest posted once; `techwatch status` lists the workers."""
    site = Site().start()
    slack = SlackStub(channels=("C0ALERTS", *DIGESTS))
    wire = WireSite(site, feeds=6, per_feed=40, published=time.time(),
                    reports=FUSION_DEAL + TEMPLATE_DEALS[:22], page_delay=0.1)
    workers: list[Worker] = []
    try:
        with throwaway_database() as database:
            cluster = Cluster(database)
            digest_at = datetime.now(UTC) + timedelta(seconds=45)
            config = cluster_config(tmp_path, wire, database, digest_at)
            workers = [Worker(config, slack, database, tmp_path / f"worker{n}.log")
                       for n in range(3)]
            wait_for(lambda: all(w.healthy() for w in workers if w.running()), 60,
                     "every worker's /healthz")
            for w in workers:
                assert w.running(), w.output()[-3000:]
            wait_for(lambda: all(cluster.worker_id(w.pid) for w in workers), 30,
                     "every worker registered")
            first, second, last = workers
            in_flight = kill_with_claims(first, cluster, wire, 30)
            time.sleep(1)
            in_flight |= kill_with_claims(second, cluster, wire, 20)
            listed = status(config, database)
            assert "Workers" in listed
            for w in workers:  # the killed ones too, until their heartbeat is a minute old
                assert re.search(rf":{w.pid}:", listed), (w.pid, listed)
            pages = len(wire.page_paths())
            # the killed workers' claims lapse a minute after their last heartbeat
            wait_for(lambda: cluster.done() >= pages, 150, "every page archived")
            wait_for(lambda: all(slack.posts(c) for c in DIGESTS), 60, "the digests")
            wait_for(lambda: {cluster.story_of().get(u) for u in alert_roots(slack)}
                     >= cluster.relevant_stories(), 90, "every story's alert")
            time.sleep(2)  # a second alert of a story would have come by now
            wait_for(lambda: cluster.silent({first.pid, second.pid}, timedelta(seconds=61)) == 2,
                     90, "the killed workers' heartbeats to be a minute old")
            listed = json.loads(status(config, database, "--json"))["workers"]
            alive = {w["pid"]: w["alive"] for w in listed}
            assert alive == {first.pid: False, second.pid: False, last.pid: True}, listed
            assert all(not w["claimed_articles"] for w in listed), listed
            assert last.process.poll() is None, last.output()[-3000:]
            last.process.send_signal(signal.SIGTERM)
            assert last.process.wait(timeout=20) == 0, last.output()[-3000:]
            story_of = cluster.story_of()
            articles = cluster.rows("SELECT source_id, url, canonical_url, state FROM articles "
                                    "WHERE source_id != 'seed'")
            stories = cluster.relevant_stories()
            cluster.engine.dispose()
    finally:
        for w in workers:
            w.end()
        slack.stop()
        site.stop()
    for w in workers:  # each said how it runs, and none failed
        assert not our_tracebacks(w.output()), w.output()[-3000:]
        assert re.search(r"worker \S+:\d+:\w+: PostgreSQL archive .* shared with \d+ other",
                         w.output()), w.output()[:3000]
    # every feed item archived once, done
    urls = {wire.url(p) for p in wire.page_paths()}
    assert sorted(u for _, u, _, _ in articles) == sorted(urls)
    assert len({c for _, _, c, _ in articles}) == len(articles)
    assert {s for _, _, _, s in articles} == {"done"}
    # every page fetched once; a page a killed worker held, at most twice
    hits = wire.hits()
    assert set(hits) == set(wire.page_paths())
    again = {p for p, n in hits.items() if n > 1}
    assert max(hits.values()) <= 2, hits.most_common(3)
    assert again <= {_path(u) for u in in_flight}, (again, in_flight)
    # every story alerted once: the fusion deal's three reports are one story
    fusion = {story_of[wire.url(p)] for p in wire.report_paths[:3]}
    assert len(fusion) == 1 and fusion <= stories
    alerted = [story_of[u] for u in alert_roots(slack)]
    assert len(alerted) == len(set(alerted)), Counter(alerted).most_common(3)
    assert set(alerted) == stories
    # one digest a channel (its first message; the stories follow in its thread)
    for channel in DIGESTS:
        assert len([p for p in slack.posts(channel) if not p.get("thread_ts")]) == 1, channel
    assert slack.refused() == []


# --- story grouping from several archives at once ------------------------------------------------

def one_event_reports(count: int) -> list[tuple[str, str]]:
    """`count` reports of the fusion deal: the three outlets' own words, each retold by other
    outlets with their own byline (copies and retellings: all one event)."""
    reports = []
    for k in range(count):
        title, text = FUSION_DEAL[k % len(FUSION_DEAL)]
        reports.append((title, f"{text} Reporting by desk {k} of the Pacific Tech Wire."))
    return reports


def pending_drafts(archive, reports: list[tuple[str, str]], first_seen: datetime) -> list:
    from bot.feeds import identity
    from bot.models import ArticleDraft

    drafts = []
    for k, (title, text) in enumerate(reports):
        url = f"https://outlet{k}.example/news/fusion-{k}.html"
        drafts.append(ArticleDraft(source_id=f"outlet{k % 5}", url=url,
                                   canonical_url=identity.canonical_url(url),
                                   keys=identity.item_keys(f"outlet{k % 5}", url, None),
                                   title=title, summary=text[:200], guid=None,
                                   feed_published=first_seen - timedelta(hours=2), lang="en",
                                   publisher=None, fetch_fulltext=True))
    ids = [article_id for article_id, new in archive.add_drafts(drafts, first_seen, "test")
           if new]
    assert len(ids) == len(reports)
    return archive.pending_articles(ids)


def judged(article, text: str):
    """The article as the pipeline hands it to the archive: extracted, classified, with its
    story input (bot.analysis.story_input, as a worker makes it)."""
    from bot.analysis import ArticleResult, story_input
    from bot.models import Classification, ExtractedText

    published = article.feed_published
    return ArticleResult(article, ExtractedText("full", text, lang="en"),
                         Classification(True, 0.9, ("energy",), {}), text, published, "feed",
                         story_input(article, text, None, None, published, None))


def add_seeds(archive) -> Counter:
    """The shipped seed documents, a new archive's first IDF; the document frequencies they
    count."""
    from bot.models import Classification
    from bot.stories.events import story_terms

    counted = Counter()
    for seed in sorted((ROOT / "seeds").glob("*.txt")):
        text = seed.read_text(encoding="utf-8")
        archive.add_seed(seed.stem, seed.stem, text, Classification(True, 1.0, (), {}), NOW)
        counted.update(story_terms(seed.stem, text, None).document_terms)
    return counted


@pytest.mark.parametrize("batch", [1, 3], ids=["one-a-transaction", "batches-of-3"])
def test_reports_of_one_event_completed_at_once_by_four_archives_are_one_story(batch):
    """Twenty reports of one event and another event's report, completed by four threads at
    once, each with an Archive (engine, connections, caches) of its own on one database, as
    four workers would: one story for the twenty, another for the other deal; and every term's
    document count in term_documents is exactly the number of documents that have it."""
    from bot.config import StorySettings
    from bot.store import open_archive
    from bot.store.schema import articles, term_documents

    reports = one_event_reports(20) + [OTHER_FUSION_DEAL]
    with throwaway_database() as url:
        setup = open_archive(url)
        expected = add_seeds(setup)
        seeds = setup.seed_count()
        pending = pending_drafts(setup, reports, NOW)
        setup.close()
        results = [judged(article, text) for article, (_, text) in zip(pending, reports,
                                                                        strict=True)]
        workers = 4
        shares = [results[k::workers] for k in range(workers)]
        start = threading.Barrier(workers)
        problems: list[BaseException] = []

        def complete(share: list) -> None:
            archive = open_archive(url)
            try:
                start.wait(timeout=30)
                for i in range(0, len(share), batch):
                    archive.complete_articles(share[i:i + batch], NOW, StorySettings())
            except BaseException as e:  # noqa: BLE001 -- reported by the test's thread
                problems.append(e)
            finally:
                archive.close()

        threads = [threading.Thread(target=complete, args=(share,)) for share in shares]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not problems, problems
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as db:
                rows = db.execute(sa.select(articles.c.id, articles.c.state,
                                            sa.func.coalesce(articles.c.story_id, articles.c.id))
                                  .where(articles.c.id.in_([a.id for a in pending]))
                                  .order_by(articles.c.id)).all()
                counts = dict(db.execute(sa.select(term_documents.c.term,
                                                   term_documents.c.documents)).all())
        finally:
            engine.dispose()
    assert [state for _, state, _ in rows] == ["done"] * len(reports)
    stories = [story for _, _, story in rows]
    assert len(set(stories[:-1])) == 1, Counter(stories[:-1])  # the twenty: one story
    assert stories[-1] != stories[0]  # the other deal: a story of its own
    for result in results:
        expected.update(result.story.terms.document_terms)
    expected[""] = seeds + len(reports)  # the row that counts the documents
    assert counts == dict(expected)


# --- digests ------------------------------------------------------------------------------------

def test_two_digest_commands_at_once_post_one_digest_a_channel(tmp_path):
    """`techwatch digest` run twice at the same moment on one PostgreSQL archive (two hosts'
    cron, or a cron beside a worker): each channel gets one digest, not two."""
    site = Site().start()
    slack = SlackStub(channels=("C0ALERTS", *DIGESTS))
    wire = WireSite(site, feeds=2, per_feed=6, published=time.time(),
                    reports=FUSION_DEAL + TEMPLATE_DEALS[:3])
    try:
        with throwaway_database() as database:
            config = cluster_config(tmp_path, wire, database,
                                    datetime.now(UTC) + timedelta(hours=6))
            env = {**os.environ, "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": TOKEN,
                   "SLACK_API_URL": slack.url, "TECHWATCH_DATABASE_URL": database}
            polled = subprocess.run([*techwatch(), "--config", str(config), "poll"], env=env,
                                    capture_output=True, text=True, timeout=120,
                                    cwd=config.parent)
            assert polled.returncode == 0, polled.stderr
            digests = [subprocess.Popen([*techwatch(), "--config", str(config), "digest"],
                                        env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, cwd=config.parent)
                       for _ in range(2)]
            outcomes = [(*p.communicate(timeout=120), p.returncode) for p in digests]
    finally:
        slack.stop()
        site.stop()
    assert all("Traceback" not in err for _, err, _ in outcomes), outcomes
    assert any(code == 0 for _, _, code in outcomes), outcomes
    for channel in DIGESTS:
        parents = [p for p in slack.posts(channel) if not p.get("thread_ts")]
        assert len(parents) == 1, (channel, outcomes)


def our_tracebacks(log: str) -> list[str]:
    """The tracebacks in a worker's log, less those of Python's own forkserver: a worker killed
    with -9 while it was starting an extraction process leaves its forkserver reading a truncated
    request, which it prints (the worker is gone by then; nothing of techwatch failed)."""
    blocks = re.findall(r"Traceback \(most recent call last\):\n((?:[ \t].*\n)*)", log)
    return [b for b in blocks
            if not all("/multiprocessing/" in f for f in re.findall(r'File "([^"]+)"', b))]
