"""Stories that grew after a channel's digest showed them: what they have new, the recent digest
messages that could say so by an edit, and the edits planned with the articles they settle.
Which outlet is new, and whether an edit or the next digest says it, is bot.notify.plan's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa

from bot.models import DIGEST_EDIT, Delivery, SlackMessage, StoryGrowth
from bot.store import dialect
from bot.store.deliveries import DeliveryStore
from bot.store.rows import SEED_SOURCE, any_topic, article_view, delivery_of, is_news, view_query
from bot.store.schema import articles, deliveries, digest_items, digests


class StoryUpdateStore:
    engine: sa.Engine

    def story_growth(self, channel: str, *, min_score: float, published_after: datetime,
                     topics: tuple[str, ...] = ()) -> list[StoryGrowth]:
        """The stories this channel's digests showed that have relevant articles (as the digest
        would take them, first seen since `published_after` too) no digest of the channel took
        yet; by story id."""
        taken = sa.exists().where(digest_items.c.channel == channel,
                                  digest_items.c.article_id == articles.c.id)
        new_query = (view_query().where(
            articles.c.first_seen >= published_after,  # news of the window: by its index
            articles.c.state == "done", articles.c.relevant.is_(True),
            articles.c.score >= min_score, articles.c.source_id != SEED_SOURCE, ~taken,
            sa.or_(articles.c.published.is_(None), articles.c.published >= published_after),
            *any_topic(topics), is_news())
            .order_by(articles.c.first_seen, articles.c.id))
        # then their stories' members and which of them the channel took, each by an index
        # (story_id; digest_items' key): a correlated test per article makes SQLite scan the
        # table for each, its statistics holding most story_ids NULL. This runs every poll.
        with self.engine.connect() as db:
            candidates = [article_view(r) for r in db.execute(new_query)]
            stories = sorted({a.story_id for a in candidates})
            ids = set(stories)
            for chunk in range(0, len(stories), 500):
                ids |= set(db.execute(sa.select(articles.c.id).where(
                    articles.c.story_id.in_(stories[chunk:chunk + 500]))).scalars())
            taken_in: dict[int, tuple[datetime, int]] = {}
            ordered = sorted(ids)
            for chunk in range(0, len(ordered), 500):
                taken_in |= {r.article_id: (r.sent_at, r.digest_id) for r in db.execute(
                    sa.select(digest_items.c.article_id, digests.c.id.label("digest_id"),
                              digests.c.sent_at)
                    .join(digests, digests.c.id == digest_items.c.digest_id)
                    .where(digest_items.c.channel == channel,
                           digest_items.c.article_id.in_(ordered[chunk:chunk + 500])))}
            if not taken_in:
                return []
            members = [a for a in (article_view(r) for r in db.execute(
                view_query().where(articles.c.id.in_(list(taken_in))).order_by(articles.c.id)))
                if a.story_id in set(stories)]
        shown_stories = {a.story_id for a in members}
        new = [a for a in candidates if a.story_id in shown_stories]
        stories = sorted(shown_stories & {a.story_id for a in new})
        growth = []
        for story_id in stories:
            shown = [a for a in members if a.story_id == story_id]
            digest_at, digest_id = max(taken_in[a.id] for a in shown)
            growth.append(StoryGrowth(story_id, tuple(shown),
                                      tuple(a for a in new if a.story_id == story_id),
                                      digest_id, digest_at))
        return growth

    def digest_parts(self, channel: str, since: datetime) -> list[Delivery]:
        """The channel's digest messages planned since `since` that may still be edited (neither
        they nor an edit of theirs refused), each as it reads now: its latest edit's content."""
        edit = deliveries.alias("edit")
        refused_edit = sa.exists().where(edit.c.kind == DIGEST_EDIT,
                                         edit.c.parent_key == deliveries.c.key,
                                         edit.c.status == "failed")
        query = (sa.select(deliveries)
                 .where(deliveries.c.channel == channel, deliveries.c.kind == "digest",
                        deliveries.c.status != "failed", deliveries.c.created_at >= since,
                        ~refused_edit)
                 .order_by(deliveries.c.id))
        with self.engine.connect() as db:
            parts = [delivery_of(r) for r in db.execute(query)]
            if not parts:
                return []
            edits = db.execute(sa.select(deliveries).where(
                deliveries.c.kind == DIGEST_EDIT, deliveries.c.status != "failed",
                deliveries.c.parent_key.in_([p.key for p in parts])).order_by(deliveries.c.id))
            latest: dict[str, SlackMessage] = {}
            for row in edits:
                latest[row.parent_key] = delivery_of(row).message
        return [replace(p, message=latest.get(p.key, p.message)) for p in parts]

    def plan_story_updates(self, channel: str, planned: list[Delivery],
                           taken: Sequence[tuple[int, int]], now: datetime) -> int:
        """Record edits of digest messages and the articles they (or no message: an outlet the
        digest already named) settle, as (article id, digest id), in one transaction: a crash
        leaves both or neither, so an outlet is announced once. Returns the new edits."""
        with self.engine.begin() as db:
            new = DeliveryStore._insert_deliveries(db, planned, now)
            if taken:
                db.execute(dialect.insert(db, digest_items).on_conflict_do_nothing(), [
                    {"channel": channel, "article_id": a, "digest_id": d} for a, d in taken])
        return new
