"""Sources: the config's and those added at run time, their polling state and health."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.errors import StorageError
from bot.models import ArticleDraft, PollOutcome, Source, SourceHealth, SourceState
from bot.store import dialect
from bot.store.articles import find_article, insert_article, refresh_article
from bot.store.rows import ADDED_ORIGINS, ADDED_SOURCE, BACKLOG, SEED_SOURCE, SLACK_ORIGIN, PollWrite
from bot.store.schema import UTCDateTime, sources


def source_health(row: Any) -> str:
    """A `source_rows` row's state: ok, failing, gone (410: stopped), or disabled (by a user or
    gone from the config)."""
    if not row.enabled or row.disabled_at:
        return "disabled"
    if row.last_status == "error: gone":
        return "gone"
    return "failing" if row.failing_since else "ok"


class SourceStore:
    engine: sa.Engine

    def sync_sources(self, configured: Iterable[Source]) -> None:
        """Make the sources table follow the config; polling state of known sources is kept."""
        configured = list(configured)
        with self.engine.begin() as db:
            dialect.transaction_lock(db, dialect.ARTICLE_WRITES)  # workers starting at once
            known = {r.id for r in db.execute(sa.select(sources.c.id))}
            for s in configured:
                values = {"url": s.url, "name": s.name, "lang": s.lang, "enabled": s.enabled,
                          "origin": None}  # now in the config: polled as the config's only
                if s.id in known:
                    update = sources.update().where(sources.c.id == s.id)
                    # a new URL for a source that was gone (or failing) gets a fresh start
                    db.execute(update.where(sources.c.url != s.url).values(
                        last_status="never polled", consecutive_errors=0, next_poll_at=None,
                        etag=None, last_modified=None, body_hash=None))
                    db.execute(update.values(**values))
                else:
                    db.execute(sources.insert().values(id=s.id, last_status="never polled",
                                                       consecutive_errors=0, **values))
            added = {r.id for r in db.execute(sa.select(sources.c.id).where(
                sources.c.origin.in_(ADDED_ORIGINS)))}
            gone = known - {s.id for s in configured} - {SEED_SOURCE, ADDED_SOURCE} - added
            if gone:
                db.execute(sources.update().where(sources.c.id.in_(gone)).values(enabled=False))

    def source_state(self, source_id: str) -> SourceState:
        with self.engine.connect() as db:
            row = db.execute(sa.select(sources).where(sources.c.id == source_id)).one_or_none()
        if row is None:
            return SourceState()
        return SourceState(etag=row.etag, last_modified=row.last_modified,
                           body_hash=row.body_hash, consecutive_errors=row.consecutive_errors,
                           next_poll_at=row.next_poll_at, gone=row.last_status == "error: gone",
                           interval_minutes=row.interval_minutes,
                           skip_hours=tuple(row.skip_hours or ()),
                           skip_days=tuple(row.skip_days or ()),
                           disabled=row.disabled_at is not None, failing_since=row.failing_since,
                           ever_polled=row.last_success_at is not None,
                           backlog=bool(row.backlog))

    def source_rows(self) -> list[Any]:
        with self.engine.connect() as db:
            query = sa.select(sources).where(sources.c.id.not_in((SEED_SOURCE, ADDED_SOURCE))) \
                .order_by(sources.c.id)
            return list(db.execute(query))

    def add_source(self, source: Source, now: datetime, *, note: str | None = None) -> None:
        """A source added at run time (`techwatch sources add`, `/techwatch add-source`,
        `techwatch sources import`, whose category is its `note`): polled beside the config's."""
        with self.engine.begin() as db:
            if db.execute(sa.select(sources.c.id).where(sources.c.id == source.id)).first():
                raise StorageError(f"a source with id {source.id!r} exists already")
            db.execute(sources.insert().values(
                id=source.id, url=source.url, name=source.name, lang=source.lang, enabled=True,
                origin=SLACK_ORIGIN if source.from_slack else "added", note=note,
                last_status="never polled", consecutive_errors=0, next_poll_at=now))

    def added_sources(self, poll_minutes: float) -> tuple[Source, ...]:
        query = sa.select(sources).where(sources.c.origin.in_(ADDED_ORIGINS), sources.c.enabled) \
            .order_by(sources.c.id)
        with self.engine.connect() as db:
            return tuple(Source(id=r.id, url=r.url, name=r.name, lang=r.lang or "en",
                                poll_minutes=poll_minutes, from_slack=r.origin == SLACK_ORIGIN)
                         for r in db.execute(query))

    def set_disabled(self, source_id: str, disabled_at: datetime | None) -> bool:
        """`techwatch sources disable/enable`: False when there is no such source."""
        with self.engine.begin() as db:
            result = db.execute(sources.update().where(
                sources.c.id == source_id, sources.c.id.not_in((SEED_SOURCE, ADDED_SOURCE))).values(
                disabled_at=disabled_at))
        return result.rowcount > 0

    def failing_sources(self, min_errors: int) -> list[SourceHealth]:
        """Sources still polled whose current run of failures is `min_errors` long or more."""
        query = sa.select(sources).where(
            sources.c.enabled, sources.c.disabled_at.is_(None), sources.c.failing_since.is_not(None),
            sources.c.consecutive_errors >= min_errors).order_by(sources.c.id)
        with self.engine.connect() as db:
            return [SourceHealth(r.id, r.name, r.failing_since, r.consecutive_errors, r.last_error)
                    for r in db.execute(query)]

    def recovered_sources(self) -> list[SourceHealth]:
        """Sources whose last poll succeeded after a run of failures (`since` its start)."""
        query = sa.select(sources).where(sources.c.recovered_from.is_not(None),
                                         sources.c.consecutive_errors == 0).order_by(sources.c.id)
        with self.engine.connect() as db:
            return [SourceHealth(r.id, r.name, r.recovered_from) for r in db.execute(query)]

    def record_poll(self, source_id: str, outcome: PollOutcome, drafts: Iterable[ArticleDraft],
                    now: datetime, *, backlog: bool = False) -> PollWrite:
        """Store a poll's items and the source's new state together, or neither; the new items
        of a `backlog` are archived as such (not news)."""
        origin = BACKLOG if backlog else None
        new = updated = 0
        written: set[int] = set()
        with self.engine.begin() as db:
            dialect.transaction_lock(db, dialect.ARTICLE_WRITES)  # found or added: by one worker
            for draft in drafts:
                article_id = find_article(db, draft.keys)
                if article_id in written:  # two items with one link (a diary's #p01, #p02):
                    continue  # the first is the article, not a mix of both
                if article_id is None:
                    article_id = insert_article(db, draft, now, origin)
                    new += 1
                else:
                    updated += refresh_article(db, article_id, draft, now)
                written.add(article_id)
            values: dict[str, Any] = {
                "last_status": outcome.status, "last_polled_at": now,
                "next_poll_at": outcome.next_poll_at,
                "consecutive_errors": outcome.consecutive_errors, "last_error": outcome.error,
            }
            if outcome.error is None:
                values |= {"last_success_at": now, "warning": outcome.warning,
                           "failing_since": None}
                values |= {k: v for k, v in (("interval_minutes", outcome.interval_minutes),
                                             ("skip_hours", outcome.skip_hours),
                                             ("skip_days", outcome.skip_days)) if v is not None}
                if outcome.status == "ok":
                    values |= {"etag": outcome.etag, "last_modified": outcome.last_modified,
                               "body_hash": outcome.body_hash, "feed_format": outcome.feed_format,
                               "backlog": outcome.backlog}
                # a run of failures ends: remembered, so the ops channel can hear of the recovery
                values["recovered_from"] = sa.case(
                    (sources.c.failing_since.is_not(None), sources.c.failing_since),
                    else_=sources.c.recovered_from)
            else:
                values["failing_since"] = sa.func.coalesce(sources.c.failing_since,
                                                     sa.literal(now, UTCDateTime()))
            if new:
                values["last_new_item_at"] = now
            db.execute(sources.update().where(sources.c.id == source_id).values(**values))
        return PollWrite(new, updated)

    def postpone_poll(self, source_id: str, until: datetime) -> None:
        """Poll a source no sooner than `until`, its state otherwise as it was (its host asked
        to wait; the source itself did not fail)."""
        with self.engine.begin() as db:
            db.execute(sources.update().where(
                sources.c.id == source_id,
                sa.or_(sources.c.next_poll_at.is_(None), sources.c.next_poll_at < until))
                .values(next_poll_at=until))

    def ensure_source(self, source_id: str, name: str) -> None:
        """A pseudo-source (never polled) for articles that came from outside the feeds."""
        with self.engine.begin() as db:
            db.execute(dialect.insert(db, sources).values(
                id=source_id, url=f"{source_id}/", name=name, lang="en", enabled=False,
                last_status="never polled", consecutive_errors=0).on_conflict_do_nothing())

    def ensure_seed_source(self) -> None:
        with self.engine.begin() as db:
            dialect.transaction_lock(db, dialect.ARTICLE_WRITES)
            if db.execute(sa.select(sources.c.id).where(sources.c.id == SEED_SOURCE)).first():
                return
            db.execute(sources.insert().values(
                id=SEED_SOURCE, url="seeds/", name="Seed documents", lang="en", enabled=False,
                last_status="reference material", consecutive_errors=0))
