"""What to deliver, decided from data and `now`: due digests and alerts as ledger entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta, tzinfo

from bot.models import ArticleView, Delivery, SlackMessage
from bot.notify.blocks import alert_message


def last_scheduled(now: datetime, hhmm: str, tz: tzinfo) -> datetime:
    """The most recent moment at or before `now` when the local clock in `tz` read `hhmm`
    (DST-correct: built from the local date, not by adding 24 hours)."""
    hour, minute = map(int, hhmm.split(":"))
    local = now.astimezone(tz)
    for days_back in range(3):
        day = local.date() - timedelta(days=days_back)
        moment = datetime.combine(day, time(hour, minute), tzinfo=tz)
        if moment <= local:
            return moment
    raise AssertionError("unreachable: a time of day recurs within two days")


def digest_deliveries(channel: str, key: str, messages: Sequence[SlackMessage]
                      ) -> list[Delivery]:
    """A digest's messages: the first in the channel, the rest in its thread."""
    parts = [Delivery(key=f"{key}:part-{i}", channel=channel, kind="digest", message=m,
                      parent_key=f"{key}:part-0" if i else None)
             for i, m in enumerate(messages)]
    return parts


def alert_deliveries(channel: str, articles: Sequence[ArticleView], room: int, tz: tzinfo,
                     hour: datetime) -> list[Delivery]:
    """One alert a story while the channel's hourly cap has room; the excess is rolled into the
    digest (recorded, not posted) with one note a channel an hour saying so."""
    planned = [Delivery(key=f"alert:{channel}:{a.id}", channel=channel, kind="alert",
                        message=alert_message(a, tz), article_id=a.id)
               for a in articles[:max(room, 0)]]
    rolled = articles[max(room, 0):]
    if rolled:
        note = (f"{len(rolled)} more new {'story' if len(rolled) == 1 else 'stories'} this hour: "
                "they will come in the next digest.")
        planned.append(Delivery(key=f"alert-note:{channel}:{hour:%Y-%m-%dT%H}", channel=channel,
                                kind="alert_note", message=SlackMessage(note, (_context(note),))))
        planned += [Delivery(key=f"rolled:{channel}:{a.id}", channel=channel, kind="rolled",
                             message=SlackMessage("", ()), article_id=a.id, status="rolled")
                    for a in rolled]
    return planned


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
