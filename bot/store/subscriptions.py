"""What readers ask for in Slack: channels' alert subscriptions, and their votes on articles
(kept with what the classifier said then, for `techwatch feedback export`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.store import dialect
from bot.store.schema import articles, feedback, subscriptions


class SubscriptionStore:
    engine: sa.Engine

    def subscribe(self, channel: str, topics: Iterable[str], min_score: float, user: str,
                  now: datetime) -> None:
        """Alerts for `channel` on `topics` ("*": all); a topic subscribed again takes the new
        minimum score."""
        with self.engine.begin() as db:
            for topic in topics:
                values = {"min_score": min_score, "created_by": user, "created_at": now}
                db.execute(dialect.insert(db, subscriptions).values(
                    channel=channel, topic=topic, **values).on_conflict_do_update(
                    index_elements=[subscriptions.c.channel, subscriptions.c.topic], set_=values))

    def unsubscribe(self, channel: str, topic: str | None) -> int:
        """Drop a channel's subscription to `topic`, or all of them (None); how many went."""
        query = subscriptions.delete().where(subscriptions.c.channel == channel)
        if topic is not None:
            query = query.where(subscriptions.c.topic == topic)
        with self.engine.begin() as db:
            return db.execute(query).rowcount

    def subscriptions(self, channel: str | None = None,
                      ) -> list[tuple[str, str, float, datetime]]:
        """(channel, topic, min_score, made at) of the subscriptions made in Slack."""
        query = sa.select(subscriptions.c.channel, subscriptions.c.topic,
                          subscriptions.c.min_score, subscriptions.c.created_at,
                          ).order_by(subscriptions.c.channel, subscriptions.c.topic)
        if channel is not None:
            query = query.where(subscriptions.c.channel == channel)
        with self.engine.connect() as db:
            return [tuple(r) for r in db.execute(query)]

    def record_feedback(self, article_id: int, user: str, vote: str, topic: str, channel: str,
                        now: datetime) -> tuple[int, int] | None:
        """A reader's vote, stored with what the classifier predicted; a new relevance vote
        replaces the reader's earlier one. The article's (relevant, not relevant) votes after
        it, or None when there is no such article."""
        with self.engine.begin() as db:
            row = db.execute(sa.select(articles.c.relevant, articles.c.score, articles.c.topics)
                             .where(articles.c.id == article_id)).first()
            if row is None:
                return None
            if vote in ("relevant", "not_relevant"):
                db.execute(feedback.delete().where(
                    feedback.c.article_id == article_id, feedback.c.user == user,
                    feedback.c.vote.in_(("relevant", "not_relevant"))))
            db.execute(dialect.insert(db, feedback).on_conflict_do_nothing().values(
                article_id=article_id, user=user, vote=vote, topic=topic,
                predicted_relevant=row.relevant, predicted_score=row.score,
                predicted_topics=row.topics or [], channel=channel, created_at=now))
            counts = dict(db.execute(
                sa.select(feedback.c.vote, sa.func.count()).where(
                    feedback.c.article_id == article_id).group_by(feedback.c.vote)).all())
        return counts.get("relevant", 0), counts.get("not_relevant", 0)

    def feedback_count(self) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(feedback)).scalar_one()

    def feedback_labels(self) -> Iterator[Any]:
        """Each voted article with its text and its votes, for `techwatch feedback export`."""
        query = (sa.select(articles.c.id, articles.c.url, articles.c.title, articles.c.text,
                           articles.c.summary, articles.c.lang, articles.c.published,
                           articles.c.topics, articles.c.story_id, feedback.c.vote,
                           feedback.c.topic, feedback.c.user, feedback.c.created_at,
                           feedback.c.predicted_relevant, feedback.c.predicted_topics)
                 .join(feedback, feedback.c.article_id == articles.c.id)
                 .order_by(articles.c.id, feedback.c.created_at))
        with self.engine.connect() as db:
            yield from db.execution_options(yield_per=200).execute(query)
