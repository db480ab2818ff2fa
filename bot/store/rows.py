"""What the store's modules share: names of pseudo-sources and origins, and how an article row
becomes what readers see (ArticleView) and a delivery row a Delivery."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from bot.feeds.identity import same_site
from bot.models import ArticleView, Classification, Delivery, SlackMessage
from bot.store.dialect import json_items
from bot.store.schema import articles, sources

SEED_SOURCE = "seed"
ADDED_SOURCE = "added"  # the source of articles given to `techwatch add`
SLACK_ORIGIN = "slack"  # a source's origin when added from Slack ("added": from the terminal)
ADDED_ORIGINS = ("added", SLACK_ORIGIN)
BACKLOG = "backlog"  # an article's origin: a feed first seen with more items than a poll takes
# what readers' queries select: not the grouping's working data (signature, story terms)
READ_COLUMNS = [c for c in articles.c if c.name not in ("minhash", "story_terms")]
ALERT_KINDS = ("alert", "rolled", "alert_reply", "alert_member")  # an article's alert is settled


class FetchLogged(NamedTuple):
    """A line of the fetch log."""

    at: datetime
    source_id: str
    kind: str  # "feed" or "article"
    url: str
    outcome: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class PollWrite:
    """Counts of what one poll wrote."""

    new: int
    updated: int


def view_query() -> sa.Select:
    """Articles as readers see them, with their source's name and URL."""
    return (sa.select(*READ_COLUMNS, sources.c.name.label("source_name"),
                      sources.c.url.label("source_url"))
            .join(sources, sources.c.id == articles.c.source_id, isouter=True))


def is_news() -> sa.ColumnElement[bool]:
    """Neither from a backfill nor a feed's backlog: those fill the archive, and are neither
    alerted nor in digests."""
    return sa.func.coalesce(articles.c.origin, "").not_in(("backfill", BACKLOG))


def any_topic(topics: tuple[str, ...]) -> list[sa.ColumnElement[bool]]:
    """A condition: the article has one of `topics` (none when `topics` is empty)."""
    if not topics:
        return []
    values = json_items(articles.c.topics).table_valued("value")
    return [sa.exists(sa.select(1).select_from(values).where(values.c.value.in_(topics)))]


def delivery_of(row: Any) -> Delivery:
    payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
    return Delivery(key=row.key, channel=row.channel, kind=row.kind,
                    message=SlackMessage(payload["text"], tuple(payload["blocks"])),
                    article_id=row.article_id, parent_key=row.parent_key, status=row.status,
                    id=row.id, ts=row.ts, attempts=row.attempts, created_at=row.created_at,
                    article_ids=tuple(payload.get("articles", ())))


def classification_values(c: Classification) -> dict[str, Any]:
    return {"relevant": c.relevant, "score": c.score, "topics": list(c.topics),
            "evidence": {k: list(v) for k, v in c.evidence.items()},
            "signals": {"actors": {k: list(v) for k, v in c.actors.items()}, "cues": list(c.cues),
                        "category": c.category}}


def outlet(row: Any) -> str:
    """Who published it: the feed's word for it (an aggregator's <source>), the page's own site
    name when the feed links to another site's page, else the source's name."""
    elsewhere = row.site_name and row.source_url and not same_site(row.url, row.source_url)
    return (row.publisher or (row.site_name if elsewhere else None) or row.source_name
            or row.site_name or row.source_id)


def article_view(row: Any, snippet: str = "") -> ArticleView:
    evidence = {k: tuple(v) for k, v in (row.evidence or {}).items()}
    signals = row.signals or {}
    return ArticleView(
        id=row.id, source_id=row.source_id, source_name=outlet(row), title=row.title,
        url=row.canonical_url if row.canonical_url.startswith("http") else row.url,
        lang=row.lang, published=row.published, first_seen=row.first_seen,
        score=row.score or 0.0, relevant=bool(row.relevant), topics=tuple(row.topics or ()),
        evidence=evidence, extraction_status=row.extraction_status or row.state,
        actors={k: tuple(v) for k, v in signals.get("actors", {}).items()},
        cues=tuple(signals.get("cues", ())), category=signals.get("category"), snippet=snippet,
        text_head=(row.text or row.summary or "")[:800],
        text_length=len(row.text or row.summary or ""), story_id=row.story_id or row.id)
