"""Readers' votes -> labeled examples in the corpus format, so `techwatch eval` can score the
classifier on them and the taxonomy can be tuned. Pure, apart from the rows it is given."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Any


def labels(rows: Iterable[Any]) -> Iterator[dict]:
    """One labeled item per voted article (rows sorted by article): relevant by the majority
    of relevance votes (a tie is borderline; no relevance vote keeps the prediction), topics as
    predicted minus those voted "not <topic>"."""
    for _, group in groupby(rows, key=lambda r: r.id):
        votes = list(group)
        first = votes[0]
        up = sum(v.vote == "relevant" for v in votes)
        down = sum(v.vote == "not_relevant" for v in votes)
        relevant = up > down if up != down else bool(first.predicted_relevant)
        wrong = {v.topic for v in votes if v.vote == "not_topic"}
        topics = [t for t in (first.topics or []) if t not in wrong] if relevant else []
        yield {
            "id": f"tw-{first.id}", "url": first.url, "title": first.title,
            "text": first.text or first.summary or "", "lang": first.lang,
            "published": first.published.date().isoformat() if first.published else None,
            "relevant": relevant, "borderline": bool(up and up == down), "topics": topics,
            "event": f"story-{first.story_id or first.id}",
            "why": f"reader feedback: {up} relevant, {down} not relevant"
                   + (f", not {', '.join(sorted(wrong))}" if wrong else ""),
            "predicted": {"relevant": first.predicted_relevant,
                          "topics": list(first.predicted_topics or [])},
            "votes": [{"user": v.user, "vote": v.vote, "topic": v.topic or None,
                       "at": v.created_at.isoformat()} for v in votes],
        }
