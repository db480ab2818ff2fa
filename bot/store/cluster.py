"""Several `techwatch run` workers on one archive: who is alive (heartbeats), and leases on the
sources and pending articles each is working on (PostgreSQL only: the one writer of an SQLite
archive claims nothing). A claim is taken with `SELECT … FOR UPDATE SKIP LOCKED` and lapses at
`claimed_until`, or as soon as its worker's heartbeat is older than DEAD_AFTER or it stopped, so
a killed worker's work returns to the others. A worker gives its claims back when its work is
done (the sources it polled, the pages of its cycle)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.store import dialect
from bot.store.schema import articles, sources, workers

SOURCE_LEASE = timedelta(minutes=5)  # longer than a feed's fetch with every retry
ARTICLE_LEASE = timedelta(minutes=15)  # longer than a cycle's share of pages takes
DEAD_AFTER = timedelta(seconds=60)  # a worker silent this long is gone (heartbeat: 5 s)
FORGOTTEN_AFTER = timedelta(days=1)  # a stopped or dead worker's row is kept this long
RELEASED = {"claimed_by": None, "claimed_until": None}


@dataclass(frozen=True, slots=True)
class WorkerRow:
    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    alive: bool
    sources: int  # sources it has claimed now
    articles: int  # pending articles it has claimed now


class ClusterStore:
    engine: sa.Engine

    def register_worker(self, worker: str, host: str, pid: int, now: datetime) -> None:
        """A worker starts; those stopped or silent for a day are forgotten."""
        with self.engine.begin() as db:
            db.execute(workers.delete().where(workers.c.heartbeat_at < now - FORGOTTEN_AFTER))
            db.execute(workers.insert().values(id=worker, host=host, pid=pid, started_at=now,
                                               heartbeat_at=now))

    def heartbeat(self, worker: str, now: datetime) -> None:
        """Say this worker is alive; release the claims of workers that are not."""
        with self.engine.begin() as db:
            db.execute(workers.update().where(workers.c.id == worker)
                       .values(heartbeat_at=now, stopped_at=None))
            for table in (sources, articles):
                db.execute(table.update().where(table.c.claimed_by.in_(_gone(now)))
                           .values(RELEASED))

    def worker_stopped(self, worker: str, now: datetime) -> None:
        """A clean stop: its claims go back at once."""
        with self.engine.begin() as db:
            db.execute(workers.update().where(workers.c.id == worker).values(stopped_at=now))
            for table in (sources, articles):
                db.execute(table.update().where(table.c.claimed_by == worker).values(RELEASED))

    @contextmanager
    def exclusively(self, key: int, wait: float = 0.0) -> Iterator[bool]:
        """Whether this process, alone in the cluster, holds `key` (a PostgreSQL advisory lock,
        waited for up to `wait` s) for the block; an SQLite archive has one writer: always."""
        if not dialect.is_postgresql(self.engine):
            yield True
            return
        with self.engine.connect() as db:
            deadline = time.monotonic() + wait
            while not (held := dialect.try_session_lock(db, key)) and time.monotonic() < deadline:
                time.sleep(0.2)
            db.commit()
            try:
                yield held
            finally:
                if held:
                    dialect.release_session_lock(db, key)
                    db.commit()

    def workers(self, now: datetime) -> list[WorkerRow]:
        """Every worker not stopped, alive or not, with its claims."""
        def claims(table: sa.Table) -> sa.ScalarSelect:
            return (sa.select(sa.func.count()).where(table.c.claimed_by == workers.c.id,
                                                     table.c.claimed_until >= now)
                    .scalar_subquery())

        query = (sa.select(workers, claims(sources).label("sources"),
                           claims(articles).label("articles"))
                 .where(workers.c.stopped_at.is_(None)).order_by(workers.c.started_at))
        with self.engine.connect() as db:
            return [WorkerRow(r.id, r.host, r.pid, r.started_at, r.heartbeat_at,
                              r.heartbeat_at >= now - DEAD_AFTER, r.sources, r.articles)
                    for r in db.execute(query)]

    def alive_workers(self, now: datetime) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).where(
                workers.c.stopped_at.is_(None),
                workers.c.heartbeat_at >= now - DEAD_AFTER)).scalar_one()

    def claim_sources(self, worker: str, ids: Iterable[str], now: datetime,
                      most: int | None = None) -> set[str]:
        """Those of `ids` no other worker is polling (`most` of them at most), now this one's
        for SOURCE_LEASE."""
        return set(self._claim(sources, worker, list(ids), now, SOURCE_LEASE, most=most))

    def release_sources(self, worker: str, ids: Iterable[str]) -> None:
        self._release(sources, worker, list(ids))

    def claim_articles(self, worker: str, ids: Iterable[int], now: datetime) -> set[int]:
        """Those of `ids` still pending that no other worker is fetching, now this one's."""
        return set(self._claim(articles, worker, list(ids), now, ARTICLE_LEASE,
                               articles.c.state == "pending"))

    def release_articles(self, worker: str, ids: Iterable[int]) -> None:
        self._release(articles, worker, list(ids))

    def _claim(self, table: sa.Table, worker: str, ids: list, now: datetime,
               lease: timedelta, *where: sa.ColumnElement[bool], most: int | None = None,
               ) -> list:
        if not ids:
            return []
        free = claim_free(table, worker, now)
        claimed: list = []
        with self.engine.begin() as db:
            for start in range(0, len(ids), 500):
                wanted = None if most is None else most - len(claimed)
                if wanted is not None and wanted <= 0:
                    break
                free_rows = (sa.select(table.c.id)
                             .where(table.c.id.in_(ids[start:start + 500]), free, *where)
                             .order_by(table.c.id).limit(wanted)
                             .with_for_update(skip_locked=True))
                claimed += db.execute(
                    table.update().where(table.c.id.in_(free_rows))
                    .values(claimed_by=worker, claimed_until=now + lease)
                    .returning(table.c.id)).scalars()
        return claimed

    def _release(self, table: sa.Table, worker: str, ids: list) -> None:
        with self.engine.begin() as db:
            for start in range(0, len(ids), 500):
                db.execute(table.update().where(table.c.id.in_(ids[start:start + 500]),
                                                table.c.claimed_by == worker).values(RELEASED))


def claim_free(table: sa.Table, worker: str, now: datetime) -> sa.ColumnElement[bool]:
    """A row `worker` may take: unclaimed, its lease over, its own, or its worker gone."""
    return sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < now,
                  table.c.claimed_by == worker, table.c.claimed_by.in_(_gone(now)))


def _gone(now: datetime) -> sa.Select:
    """The workers stopped, or silent for DEAD_AFTER."""
    return sa.select(workers.c.id).where(sa.or_(workers.c.heartbeat_at < now - DEAD_AFTER,
                                                workers.c.stopped_at.is_not(None)))
