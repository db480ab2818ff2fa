"""When to poll a source next: a pure function of its history and `now`."""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

SLOW_KINDS = frozenset({"dns", "connect", "not_found", "bad_url", "blocked", "parse",
                        "too_large"})  # a site that refuses or is gone: 4x a timeout's wait
RECENT = timedelta(days=7)  # the items that tell how often a feed publishes
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def publishing_interval(now: datetime, poll_minutes: float, ttl_minutes: int | None = None, *,
                        item_times: Sequence[datetime] = (), max_age_seconds: int | None = None,
                        bounds: tuple[float, float] = (10, 360)) -> float:
    """Minutes between polls that follow how often the feed publishes: half the median gap
    between its recent items (a feed that posts hourly is read every 30 minutes), within
    `bounds`; `poll_minutes` when there are too few dated items. The feed's own <ttl> and the
    response's Cache-Control max-age are honoured when they ask for longer, up to a day."""
    low, high = bounds
    minutes = float(poll_minutes)
    recent = sorted(t for t in item_times if now - RECENT <= t <= now)
    if len(recent) >= 3:
        gaps = [(b - a).total_seconds() / 60 for a, b in zip(recent, recent[1:], strict=False)]
        minutes = statistics.median(gaps) / 2
    minutes = min(max(minutes, low), high)
    asked = max(ttl_minutes or 0, (max_age_seconds or 0) / 60)
    return max(minutes, min(asked, 24 * 60))


def next_poll_after_success(now: datetime, interval_minutes: float, *, all_new: bool = False,
                            min_minutes: float = 10, spread: str = "",
                            skip_hours: Collection[int] = (), skip_days: Collection[str] = (),
                            ) -> datetime:
    """The next poll, `interval_minutes` on. A poll in which every item was new may have missed
    some: poll twice as soon (never under `min_minutes`). `spread` (the source id) shifts the
    time by up to ±10%, the same for a source every time, so sources configured alike do not
    all poll at once. The hours and days the feed asks to be skipped are skipped."""
    minutes = max(min_minutes, interval_minutes / 2) if all_new else interval_minutes
    when = now + timedelta(minutes=minutes * (1 + _jitter(spread)))
    return outside_skipped(when, skip_hours, skip_days)


def outside_skipped(when: datetime, skip_hours: Collection[int], skip_days: Collection[str],
                    ) -> datetime:
    """The first moment from `when` that is not in an RSS <skipHours> hour (GMT, 0-23) or on a
    <skipDays> day. A feed that skips every hour or day is polled as if it skipped none."""
    hours = {h % 24 for h in skip_hours}
    days = {d.strip().lower() for d in skip_days} & set(WEEKDAYS)
    if len(hours) >= 24 or len(days) >= 7:
        return when
    utc = when.astimezone(UTC)
    for _ in range(24 * 8):
        if utc.hour not in hours and WEEKDAYS[utc.weekday()] not in days:
            return when if utc == when else utc
        utc = utc.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return when


def _jitter(key: str) -> float:
    """A fraction in [-0.1, 0.1] fixed by the key (the same in every process)."""
    if not key:
        return 0.0
    value = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "little")
    return (value % 2001 - 1000) / 10_000


def max_age(cache_control: str | None) -> int | None:
    """The max-age of a Cache-Control header, in seconds (RFC 9111 §5.2.2.1)."""
    for part in (cache_control or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.strip().isdigit():
            return int(value.strip())
    return None


def next_poll_after_failure(now: datetime, poll_minutes: float, consecutive_errors: int,
                            max_backoff: timedelta, retry_at: datetime | None = None,
                            kind: str = "error", min_minutes: float = 10) -> datetime:
    """Exponential back-off from the poll interval (at least `min_minutes`), capped; slower for
    failures that do not mend by themselves in minutes (DNS, 404, refused, not a feed) than for
    a timeout; a host's Retry-After wins if later. A failing source is never given up on (410 Gone aside)."""
    interval = timedelta(minutes=max(poll_minutes, min_minutes))
    if kind in SLOW_KINDS:
        interval *= 4
    delay = min(interval * (2 ** max(consecutive_errors - 1, 0)), max_backoff)
    when = now + delay
    return max(when, retry_at) if retry_at else when


def backing_off(next_poll_at: datetime | None, consecutive_errors: int, now: datetime) -> bool:
    """Left out of a poll because it failed lately and waits out its back-off."""
    return consecutive_errors > 0 and not is_due(next_poll_at, now)


def is_due(next_poll_at: datetime | None, now: datetime) -> bool:
    return next_poll_at is None or next_poll_at <= now


def should_poll(next_poll_at: datetime | None, consecutive_errors: int, now: datetime,
                *, one_shot: bool, gone: bool = False, force: bool = False) -> bool:
    """The daemon keeps to the schedule; a one-shot run polls every healthy source it was asked
    for, but still leaves failing sources to their back-off. A feed that answered 410 Gone
    is not polled again (RFC 9110 §15.5.11) until its configured URL changes. `force` (a
    user's `--now`) polls every source, whatever its back-off: the network may be fixed."""
    if force:
        return True
    if gone:
        return False
    if one_shot and consecutive_errors == 0:
        return True
    return is_due(next_poll_at, now)
