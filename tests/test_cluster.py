"""Workers sharing an archive: claims with leases, lapsing when a worker dies or stops, locks
held once in the cluster, and what status, /healthz and /metrics say of each worker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conftest import write_config

from bot.health import Health, Metrics, serve
from bot.models import ArticleDraft, PollOutcome, Source
from bot.store import open_archive
from bot.store.cluster import ARTICLE_LEASE, DEAD_AFTER, SOURCE_LEASE
from bot.store.dialect import HOUSEKEEPING_LOCK

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def draft(n: int) -> ArticleDraft:
    url = f"https://news.example.com/{n}"
    return ArticleDraft(source_id="a", url=url, canonical_url=url, keys=(f"url:{url}",),
                        title=f"Story {n}", summary="Chips.", guid=None, feed_published=NOW,
                        lang="en", publisher=None, fetch_fulltext=True)


@pytest.fixture
def archive(database_url):
    archive = open_archive(database_url)
    archive.sync_sources([Source(i, f"https://news.example.com/{i}.xml", i) for i in "abcd"])
    archive.record_poll("a", PollOutcome("ok", NOW), [draft(n) for n in range(6)], NOW)
    for worker in ("w1", "w2"):
        archive.register_worker(worker, "host", 1, NOW)
    yield archive
    archive.close()


def test_two_workers_claim_disjoint_sources_and_articles(archive):
    first = archive.claim_sources("w1", ["a", "b", "c"], NOW)
    second = archive.claim_sources("w2", ["a", "b", "c", "d"], NOW)
    assert first == {"a", "b", "c"} and second == {"d"}
    assert archive.claim_sources("w1", ["a"], NOW) == {"a"}  # its own claim: still its own
    ids = [a.id for a in archive.pending_articles()]
    mine = archive.claim_articles("w1", ids[:4], NOW)
    theirs = archive.claim_articles("w2", ids, NOW)
    assert mine == set(ids[:4]) and theirs == set(ids[4:])
    free = {a.id for a in archive.pending_articles(due_by=NOW, free_for="w2")}
    assert free == set(ids[4:])  # w1's are not offered to w2


def test_a_claim_lapses_at_its_lease_and_is_released_by_its_worker(archive):
    archive.claim_sources("w1", ["a"], NOW)
    later = NOW + SOURCE_LEASE / 2
    archive.heartbeat("w1", later)  # alive, but still polling it
    assert archive.claim_sources("w2", ["a"], later) == set()
    over = NOW + SOURCE_LEASE + timedelta(seconds=1)
    archive.heartbeat("w1", over)  # alive, yet its lease is over
    assert archive.claim_sources("w2", ["a"], over) == {"a"}
    archive.release_sources("w1", ["a"])  # not w1's any more: nothing happens to it
    assert archive.claim_sources("w1", ["a"], NOW) == set()
    archive.release_sources("w2", ["a"])
    assert archive.claim_sources("w1", ["a"], NOW) == {"a"}
    (article, *_) = archive.pending_articles()
    archive.claim_articles("w1", [article.id], NOW)
    archive.heartbeat("w1", NOW + ARTICLE_LEASE / 2)
    assert archive.claim_articles("w2", [article.id], NOW + ARTICLE_LEASE / 2) == set()


def test_the_claims_of_a_silent_worker_are_free_to_the_others_at_once(archive):
    """No live worker's heartbeat has released them yet: claiming finds them free itself."""
    archive.claim_sources("w1", ["a"], NOW)
    silent = NOW + DEAD_AFTER + timedelta(seconds=1)
    assert archive.claim_sources("w2", ["a"], silent) == {"a"}


def test_a_dead_workers_claims_return_at_a_live_ones_heartbeat(archive):
    ids = [a.id for a in archive.pending_articles()]
    archive.claim_articles("w1", ids, NOW)
    archive.claim_sources("w1", ["a", "b"], NOW)
    later = NOW + DEAD_AFTER + timedelta(seconds=5)  # w1 was killed: no heartbeat since NOW
    archive.heartbeat("w2", later)
    assert archive.claim_articles("w2", ids, later) == set(ids)
    assert archive.claim_sources("w2", ["a", "b"], later) == {"a", "b"}
    workers = {w.id: w for w in archive.workers(later)}
    assert not workers["w1"].alive and workers["w2"].alive
    assert (workers["w2"].sources, workers["w2"].articles) == (2, len(ids))


def test_a_stopped_worker_gives_its_claims_back_at_once(archive):
    ids = [a.id for a in archive.pending_articles()]
    archive.claim_articles("w1", ids, NOW)
    archive.worker_stopped("w1", NOW)
    assert archive.claim_articles("w2", ids, NOW) == set(ids)
    assert [w.id for w in archive.workers(NOW)] == ["w2"]


def test_a_done_article_is_claimed_by_no_one(archive):
    (article, *_) = archive.pending_articles()
    with archive.engine.begin() as db:
        from bot.store.schema import articles

        db.execute(articles.update().where(articles.c.id == article.id).values(state="done"))
    assert archive.claim_articles("w1", [article.id], NOW) == set()


def test_housekeeping_is_done_by_one_worker_at_a_time(archive):
    other = open_archive(str(archive.engine.url.render_as_string(hide_password=False)))
    try:
        with archive.exclusively(HOUSEKEEPING_LOCK) as mine:
            assert mine
            with other.exclusively(HOUSEKEEPING_LOCK) as theirs:
                # PostgreSQL: held by the first; SQLite has one writer, which holds it always
                assert theirs is (not archive.shared)
        with other.exclusively(HOUSEKEEPING_LOCK) as theirs:
            assert theirs  # let go of at the end of the block
    finally:
        other.close()


def test_status_lists_the_workers_alive_with_their_claims(cli, tmp_path, database_url):
    config = write_config(tmp_path, [], database=database_url)
    archive = open_archive(database_url)
    try:
        archive.register_worker("hostA:101:ab12", "hostA", 101, NOW - timedelta(minutes=5))
        archive.register_worker("hostB:202:cd34", "hostB", 202, NOW)
        archive.heartbeat("hostB:202:cd34", NOW)
    finally:
        archive.close()
    code, out, err = cli("--config", str(config), "status", "--json")
    assert code == 0, err
    workers = {w["id"]: w for w in json.loads(out)["workers"]}
    assert workers["hostB:202:cd34"]["alive"] and not workers["hostA:101:ab12"]["alive"]
    assert workers["hostB:202:cd34"]["claimed_articles"] == 0
    code, out, _ = cli("--config", str(config), "status")
    assert code == 0 and "hostB:202:cd34" in out and "alive" in out


def test_metrics_carry_the_worker_label_and_healthz_names_the_worker():
    metrics = Metrics("vm:42:beef")
    metrics.polls.labels("ok").inc()
    server = serve(Health(60), metrics, "127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        body = httpx.get(f"{base}/metrics", timeout=5).text
        health = httpx.get(f"{base}/healthz", timeout=5)
    finally:
        server.shutdown()
    assert 'techwatch_polls_total{outcome="ok",worker="vm:42:beef"} 1.0' in body
    assert health.status_code == 200 and "worker vm:42:beef" in health.text


def test_a_reading_command_cannot_write_to_a_postgresql_archive():
    from pgdb import throwaway_database
    from sqlalchemy.exc import SQLAlchemyError

    with throwaway_database() as url:
        reader = open_archive(url, read_only=True)  # an empty database: made current first
        try:
            assert reader.counts()["articles"] == 0
            with pytest.raises(SQLAlchemyError, match="read-only transaction"):
                reader.ensure_source("x", "X")
        finally:
            reader.close()


def test_a_postgresql_server_that_cannot_be_reached_is_one_line_without_the_password(
        cli, tmp_path):
    config = write_config(tmp_path, [], database="postgresql+psycopg://tw:hunter2@127.0.0.1:1/x")
    for command in (("status",), ("run", "--once")):
        code, out, err = cli("--config", str(config), *command)
        assert code == 2 and "Traceback" not in err and "hunter2" not in err + out
        (line,) = err.strip().splitlines()
        assert "127.0.0.1:1/x" in line and "connection" in line.lower()
