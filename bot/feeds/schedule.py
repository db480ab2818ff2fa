"""When to poll a source next: a pure function of its history and `now`."""

from __future__ import annotations

from datetime import datetime, timedelta

BACKOFF_BASE = timedelta(minutes=5)


def next_poll_after_success(now: datetime, poll_minutes: int, ttl_minutes: int | None = None,
                            ) -> datetime:
    """The configured interval, stretched to the feed's own <ttl> when it asks for longer."""
    minutes = max(poll_minutes, ttl_minutes or 0)
    return now + timedelta(minutes=minutes)


def next_poll_after_failure(now: datetime, poll_minutes: int, consecutive_errors: int,
                            max_backoff: timedelta, retry_at: datetime | None = None) -> datetime:
    """Exponential back-off from the poll interval, capped; a host's Retry-After wins if later."""
    interval = max(BACKOFF_BASE, timedelta(minutes=poll_minutes))
    delay = min(interval * (2 ** max(consecutive_errors - 1, 0)), max_backoff)
    when = now + delay
    return max(when, retry_at) if retry_at else when


def is_due(next_poll_at: datetime | None, now: datetime) -> bool:
    return next_poll_at is None or next_poll_at <= now


def should_poll(next_poll_at: datetime | None, consecutive_errors: int, now: datetime,
                *, one_shot: bool) -> bool:
    """The daemon keeps to the schedule; a one-shot run polls every healthy source it was asked
    for, but still leaves failing sources to their back-off."""
    if one_shot and consecutive_errors == 0:
        return True
    return is_due(next_poll_at, now)
