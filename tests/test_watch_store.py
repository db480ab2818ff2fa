"""Watches made in Slack and the articles they matched, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.models import Classification
from bot.store import open_archive
from bot.store.schema import articles

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_a_channel_adds_lists_and_removes_its_watches(database_url):
    archive = open_archive(database_url)
    first = archive.add_watch("C1", '"Open RAN" OR 6G', relevant_only=True, topics=("telecom",),
                              lang="", user="U1", now=NOW)
    second = archive.add_watch("C1", "Rapidus", relevant_only=False, topics=(), lang="ja",
                               user="U2", now=NOW)
    other = archive.add_watch("C2", "量子", relevant_only=True, topics=(), lang="", user="U1",
                              now=NOW)
    assert len({first, second, other}) == 3
    mine = archive.watches("C1")
    assert [(w.id, w.query, w.relevant_only, w.topics, w.lang) for w in mine] == [
        (first, '"Open RAN" OR 6G', True, ["telecom"], None), (second, "Rapidus", False, [], "ja")]
    assert not archive.remove_watch("C2", first)  # another channel's watch stays
    assert archive.remove_watch("C1", first) and not archive.remove_watch("C1", first)
    assert [w.id for w in archive.watches()] == [second, other]
    archive.close()


def test_matches_are_kept_once_and_counted_by_their_day(database_url):
    archive = open_archive(database_url)
    for i in range(3):
        archive.add_seed(f"doc{i}", f"doc {i}", "text", Classification(True, 1.0, (), {}), NOW)
    with archive.engine.connect() as db:
        ids = list(db.execute(sa.select(articles.c.id).order_by(articles.c.id)).scalars())
    archive.record_watch_matches([("slack:1", ids[0]), ("slack:1", ids[1])],
                                 NOW - timedelta(days=20))
    archive.record_watch_matches([("slack:1", ids[2]), ("config:0", ids[2])], NOW)
    archive.record_watch_matches([("slack:1", ids[2])], NOW)  # a cycle again: kept once
    week = archive.watch_match_counts(["slack:1", "config:0", "slack:9"], NOW - timedelta(days=7))
    month = archive.watch_match_counts(["slack:1"], NOW - timedelta(days=30))
    assert week == {"slack:1": 1, "config:0": 1} and month == {"slack:1": 3}
    archive.close()
