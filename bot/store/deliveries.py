"""The delivery ledger (a message is recorded before it is posted: exactly once), digests and
the articles each took, alerts already sent, and the channels Slack refused for a while."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.models import DIGEST_EDIT, ArticleView, ChannelHold, Delivery, SlackPost
from bot.store import dialect
from bot.store.rows import (
    ALERT_KINDS,
    SEED_SOURCE,
    any_topic,
    article_view,
    delivery_of,
    is_news,
    view_query,
)
from bot.store.schema import (
    articles,
    channel_holds,
    deliveries,
    digest_items,
    digests,
    watch_matches,
)

# the kinds of message posted with chat.postMessage (a chart is a file, an edit no new message)
POSTED_KINDS = ("digest", "alert", "alert_reply", "alert_note", "ops")
IN_SLACK = deliveries.c.ts.like("%.%")  # Slack's ts ("1712345678.000100"), not "terminal"


class DeliveryStore:
    engine: sa.Engine

    def last_digest(self, channel: str) -> datetime | None:
        query = sa.select(sa.func.max(digests.c.sent_at)).where(digests.c.channel == channel)
        with self.engine.connect() as db:
            return db.execute(query).scalar_one()

    def first_digest(self, channel: str) -> datetime | None:
        query = sa.select(sa.func.min(digests.c.sent_at)).where(digests.c.channel == channel)
        with self.engine.connect() as db:
            return db.execute(query).scalar_one()

    def record_digest(self, channel: str, sent_at: datetime, article_ids: list[int]) -> None:
        """A digest shown outside Slack (the terminal): its articles are taken, once."""
        self.plan([], sent_at, digest=(channel, article_ids))

    def digest_articles(self, channel: str, *, first_seen_after: datetime, min_score: float,
                        published_after: datetime, topics: tuple[str, ...] = (),
                        ) -> list[ArticleView]:
        """Relevant news not yet in this channel's digest, best first: every article of each
        story none of whose articles went out (which stories a digest shows, and which it
        only lists, is bot.digest's to decide); never seed documents. An article finished
        late (a retry) still gets its turn."""
        earlier = articles.alias("earlier")
        story = sa.func.coalesce(articles.c.story_id, articles.c.id)
        in_digest = sa.exists().where(  # this article, or another of its story, went out
            digest_items.c.channel == channel, digest_items.c.article_id == earlier.c.id,
            sa.func.coalesce(earlier.c.story_id, earlier.c.id) == story)
        query = (view_query().where(
            articles.c.state == "done", articles.c.relevant.is_(True),
            articles.c.score >= min_score, articles.c.source_id != SEED_SOURCE,
            articles.c.first_seen > first_seen_after, ~in_digest,
            sa.or_(articles.c.published.is_(None), articles.c.published >= published_after),
            *any_topic(topics), is_news())
            .order_by(articles.c.score.desc(), articles.c.first_seen.desc()))
        with self.engine.connect() as db:
            return [article_view(r) for r in db.execute(query)]

    def plan(self, planned: list[Delivery], now: datetime,
             digest: tuple[str, list[int]] | None = None) -> int:
        """Record deliveries (and a digest's articles) before anything is posted; a key already
        in the ledger is skipped, so planning twice delivers once. Returns how many were new."""
        new = 0
        with self.engine.begin() as db:
            new += self._insert_deliveries(db, planned, now)
            if digest is not None and (new or not planned):  # a digest planned twice: once
                channel, article_ids = digest
                digest_id = db.execute(digests.insert().values(
                    channel=channel, sent_at=now, covered_until=now,
                    items=len(article_ids))).inserted_primary_key[0]
                if article_ids:
                    db.execute(dialect.insert(db, digest_items).on_conflict_do_nothing(), [
                        {"channel": channel, "article_id": a, "digest_id": digest_id}
                        for a in article_ids])
        return new

    @staticmethod
    def _insert_deliveries(db: sa.Connection, planned: list[Delivery], now: datetime) -> int:
        new = 0
        for d in planned:
            result = db.execute(dialect.insert(db, deliveries).values(
                key=d.key, channel=d.channel, kind=d.kind, article_id=d.article_id,
                parent_key=d.parent_key, status=d.status, attempts=0, created_at=now,
                payload={"text": d.message.text, "blocks": list(d.message.blocks),
                         "articles": list(d.article_ids)}).on_conflict_do_nothing())
            new += result.rowcount
        return new

    def pending_deliveries(self) -> list[Delivery]:
        query = (sa.select(deliveries).where(deliveries.c.status == "pending")
                 .order_by(deliveries.c.id))
        with self.engine.connect() as db:
            return [delivery_of(r) for r in db.execute(query)]

    def channel_holds(self) -> dict[str, ChannelHold]:
        with self.engine.connect() as db:
            return {r.channel: ChannelHold(r.channel, r.error, r.since, r.tries, r.retry_at)
                    for r in db.execute(sa.select(channel_holds))}

    def hold_channel(self, channel: str, error: str, now: datetime,
                     backoff: Callable[[int], timedelta]) -> ChannelHold:
        """Slack refused a channel (again): its next try after `backoff(tries)`."""
        with self.engine.begin() as db:
            row = db.execute(sa.select(channel_holds).where(channel_holds.c.channel == channel)
                             ).one_or_none()
            tries = row.tries + 1 if row else 1
            hold = ChannelHold(channel, error, row.since if row else now, tries,
                               now + backoff(tries))
            db.execute(dialect.insert(db, channel_holds).values(**asdict(hold)).on_conflict_do_update(
                index_elements=[channel_holds.c.channel],
                set_={"error": error, "tries": tries, "retry_at": hold.retry_at}))
            return hold

    def release_channel(self, channel: str) -> ChannelHold | None:
        """Slack took a message for a held channel: the hold it had, now lifted."""
        with self.engine.begin() as db:
            row = db.execute(sa.select(channel_holds).where(channel_holds.c.channel == channel)
                             ).one_or_none()
            if row is None:
                return None
            db.execute(channel_holds.delete().where(channel_holds.c.channel == channel))
            return ChannelHold(row.channel, row.error, row.since, row.tries, row.retry_at)

    def delivery_record(self, key: str) -> tuple[str, str] | None:
        """(kind, status) of a delivery, None when there is none."""
        query = sa.select(deliveries.c.kind, deliveries.c.status).where(deliveries.c.key == key)
        with self.engine.connect() as db:
            row = db.execute(query).first()
        return (row.kind, row.status) if row else None

    def delivery_state(self, key: str) -> tuple[str | None, str | None]:
        """(status, ts if sent) of a delivery, (None, None) when there is none."""
        query = sa.select(deliveries.c.status, deliveries.c.ts).where(deliveries.c.key == key)
        with self.engine.connect() as db:
            row = db.execute(query).first()
        if row is None:
            return None, None
        return row.status, row.ts if row.status == "sent" else None

    def delivery_attempt(self, delivery_id: int) -> None:
        """Counted before the post: an attempt > 0 means the message may already be in Slack."""
        self._update_delivery(delivery_id, attempts=deliveries.c.attempts + 1)

    def delivery_not_posted(self, delivery_id: int, error: str) -> None:
        """Slack answered that it did not take the message (429): nothing to look for later."""
        self._update_delivery(delivery_id, last_error=error,
                              attempts=dialect.greatest(deliveries.c.attempts - 1, 0))

    def delivery_sent(self, delivery_id: int, ts: str, now: datetime) -> None:
        self._update_delivery(delivery_id, status="sent", ts=ts, sent_at=now, last_error=None)

    def missing_permalinks(self, sent_from: datetime, limit: int,
                           but: Collection[str] = ()) -> list[tuple[int, str, str]]:
        """(id, channel, ts) of the messages posted since `sent_from` whose permalink is not
        known yet, newest first, in any channel but those named."""
        query = (sa.select(deliveries.c.id, deliveries.c.channel, deliveries.c.ts)
                 .where(deliveries.c.status == "sent", deliveries.c.kind.in_(POSTED_KINDS),
                        deliveries.c.permalink.is_(None), deliveries.c.sent_at >= sent_from,
                        IN_SLACK, deliveries.c.channel.not_in(list(but)))
                 .order_by(deliveries.c.id.desc()).limit(limit))
        with self.engine.connect() as db:
            return [(r.id, r.channel, r.ts) for r in db.execute(query)]

    def delivery_permalink(self, delivery_id: int, permalink: str) -> None:
        self._update_delivery(delivery_id, permalink=permalink)

    def story_messages(self, story_id: int, limit: int = 50) -> list[SlackPost]:
        """The Slack messages a story's articles went out in (digest parts, its alert and
        the alert's replies), newest first: a part is the one whose stories include one of
        them, found through the digests that took them."""
        story = sa.or_(articles.c.story_id == story_id,
                       sa.and_(articles.c.story_id.is_(None), articles.c.id == story_id))
        sent = [deliveries.c.status == "sent", IN_SLACK]
        with self.engine.connect() as db:
            members = set(db.execute(sa.select(articles.c.id).where(story)).scalars())
            if not members:
                return []
            alerts = db.execute(sa.select(deliveries).where(
                *sent, deliveries.c.kind.in_(("alert", "alert_reply")),
                deliveries.c.article_id.in_(members))).all()
            took = (sa.select(digests.c.channel, digests.c.sent_at).distinct()
                    .join(digest_items, digest_items.c.digest_id == digests.c.id)
                    .where(digest_items.c.article_id.in_(members)).subquery())
            parts = db.execute(sa.select(deliveries).join(took, sa.and_(
                deliveries.c.channel == took.c.channel, deliveries.c.created_at == took.c.sent_at))
                .where(*sent, deliveries.c.kind == "digest")).all()
        rows = [*alerts, *(r for r in parts if members & set(delivery_of(r).article_ids))]
        rows.sort(key=lambda r: (r.sent_at or r.created_at, r.id), reverse=True)
        return [SlackPost(r.channel, r.kind, r.permalink or None, r.sent_at or r.created_at)
                for r in rows[:limit]]

    def delivery_failed(self, delivery_id: int, error: str, *, permanent: bool) -> None:
        """Note a failure; a refused digest gives its articles back to the next digest (a
        refused thread part, the stories it carried; a refused edit, the outlets it named)."""
        if not permanent:
            self._update_delivery(delivery_id, last_error=error)
            return
        with self.engine.begin() as db:
            row = db.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).one()
            db.execute(deliveries.update().where(deliveries.c.id == delivery_id)
                       .values(status="failed", last_error=error))
            if row.kind == DIGEST_EDIT:  # the outlets it named: the next digest's to say
                db.execute(digest_items.delete().where(
                    digest_items.c.channel == row.channel,
                    digest_items.c.article_id.in_(delivery_of(row).article_ids)))
            if row.kind != "digest":
                return
            taken = digest_items.c.digest_id.in_(sa.select(digests.c.id).where(
                digests.c.channel == row.channel, digests.c.sent_at == row.created_at))
            if row.parent_key is None:
                db.execute(digest_items.delete().where(taken))
            elif stories := delivery_of(row).article_ids:
                db.execute(digest_items.delete().where(
                    taken, digest_items.c.article_id.in_(stories)))

    def forget_digest(self, channel: str, planned_at: datetime) -> None:
        """A digest that was never posted (asked for now, and refused): it does not count as
        the channel's last digest, so a scheduled one is still owed."""
        with self.engine.begin() as db:
            taken = sa.select(digests.c.id).where(digests.c.channel == channel,
                                                  digests.c.sent_at == planned_at)
            db.execute(digest_items.delete().where(digest_items.c.digest_id.in_(taken)))
            db.execute(digests.delete().where(digests.c.channel == channel,
                                              digests.c.sent_at == planned_at))

    def _update_delivery(self, delivery_id: int, **values: Any) -> None:
        with self.engine.begin() as db:
            db.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(**values))

    def alert_candidates(self, channel: str, *, min_score: float, published_after: datetime,
                         topics: tuple[str, ...] = (), first_seen_from: datetime | None = None,
                         limit: int = 200) -> list[ArticleView]:
        """Relevant recent news this channel has had no alert (or roll-over) for."""
        query = (view_query()
                 .where(*_unalerted(channel, published_after, first_seen_from),
                        articles.c.relevant.is_(True), articles.c.score >= min_score,
                        *any_topic(topics))
                 .order_by(articles.c.first_seen, articles.c.id).limit(limit))
        with self.engine.connect() as db:
            return [article_view(r) for r in db.execute(query)]

    def watch_candidates(self, channel: str, *, published_after: datetime,
                         first_seen_from: datetime | None, completed_from: datetime | None,
                         matched_by: tuple[str, ...] = (), limit: int = 2000,
                         ) -> list[tuple[ArticleView, str, datetime]]:
        """Recent news, relevant or not, this channel has had no alert (or roll-over) for,
        completed from `completed_from` on or matched before by one of `matched_by` (a watch
        key; left by the hourly cap for a later hour), with its full text and completion time,
        in that order: what the channel's watches are matched against in a cycle (never the
        archive)."""
        query = (view_query()
                 .where(*_unalerted(channel, published_after, first_seen_from),
                        *([sa.or_(articles.c.updated_at >= completed_from, articles.c.id.in_(
                            sa.select(watch_matches.c.article_id).where(
                                watch_matches.c.watch_key.in_(matched_by))))]
                          if completed_from else []))
                 .order_by(articles.c.updated_at, articles.c.id).limit(limit))
        with self.engine.connect() as db:
            return [(article_view(r), r.text or r.summary or "", r.updated_at or r.first_seen)
                    for r in db.execute(query)]

    def alerted_outlets(self, channel: str, story_id: int) -> set[str]:
        """The outlets a channel's alert of this story and its thread have named."""
        alerted = sa.select(deliveries.c.article_id).where(deliveries.c.channel == channel,
                                                           deliveries.c.kind.in_(ALERT_KINDS))
        query = view_query().where(
            sa.func.coalesce(articles.c.story_id, articles.c.id) == story_id,
            articles.c.id.in_(alerted))
        with self.engine.connect() as db:
            return {article_view(r).source_name for r in db.execute(query)}

    def alerts_since(self, channel: str, since: datetime) -> int:
        query = (sa.select(sa.func.count()).select_from(deliveries)
                 .where(deliveries.c.channel == channel, deliveries.c.kind == "alert",
                        deliveries.c.created_at >= since))
        with self.engine.connect() as db:
            return db.execute(query).scalar_one()

    def pending_delivery_count(self) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                deliveries.c.status == "pending")).scalar_one()


def _unalerted(channel: str, published_after: datetime,
               first_seen_from: datetime | None) -> list[sa.ColumnElement[bool]]:
    """News (no seed, backfill or backlog) published or seen since `published_after`, first
    seen from `first_seen_from` when given, that no alert of `channel` settled yet: what topic
    subscriptions and watches alike are offered."""
    done = sa.exists().where(deliveries.c.channel == channel, deliveries.c.kind.in_(ALERT_KINDS),
                             deliveries.c.article_id == articles.c.id)
    date = sa.func.coalesce(articles.c.published, articles.c.first_seen)
    return [articles.c.state == "done", articles.c.source_id != SEED_SOURCE,
            date >= published_after, ~done, is_news(),
            *([articles.c.first_seen >= first_seen_from] if first_seen_from else [])]
