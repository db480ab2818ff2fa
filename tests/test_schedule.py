"""The polling policy: a pure function of a feed's history, tested without a clock."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.feeds.schedule import (
    max_age,
    next_poll_after_failure,
    next_poll_after_success,
    outside_skipped,
    publishing_interval,
)

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def every(minutes: int, count: int = 10) -> list[datetime]:
    return [NOW - timedelta(minutes=minutes * i) for i in range(count)]


def interval(*, all_new: bool = False, **kw) -> float:
    minutes = publishing_interval(NOW, kw.pop("poll_minutes", 60), **kw)
    low = kw.get("bounds", (10, 360))[0]
    return (next_poll_after_success(NOW, minutes, all_new=all_new, min_minutes=low)
            - NOW).total_seconds() / 60


def test_interval_follows_how_often_the_feed_publishes():
    assert interval(item_times=every(60)) == 30  # hourly items: every half hour
    assert interval(item_times=every(5)) == 10  # never faster than the minimum
    assert interval(item_times=every(24 * 60, 5)) == 360  # daily: the maximum
    assert interval(item_times=every(60, 2)) == 60  # too few dated items: the configured one
    old = [t - timedelta(days=30) for t in every(5)]
    assert interval(item_times=old) == 60  # only recent items count


def test_all_new_polls_sooner_and_the_feed_can_ask_for_longer():
    assert interval(item_times=every(60), all_new=True) == 15
    assert interval(item_times=every(60), ttl_minutes=120) == 120
    assert interval(item_times=every(60), max_age_seconds=7200) == 120
    assert interval(item_times=every(60), ttl_minutes=10 * 24 * 60) == 24 * 60  # a day at most
    assert interval(item_times=every(60), bounds=(45, 90)) == 45
    assert max_age("public, max-age=600, must-revalidate") == 600
    assert max_age("no-store") is None and max_age(None) is None


def test_failures_back_off_up_to_the_ceiling_and_retry_after_wins():
    day = timedelta(hours=24)
    delays = [next_poll_after_failure(NOW, 60, n, day) - NOW for n in (1, 2, 3, 10)]
    assert delays == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=4), day]
    later = NOW + timedelta(hours=5)
    assert next_poll_after_failure(NOW, 60, 1, day, retry_at=later) == later


def test_slow_failures_back_off_longer_and_gone_feeds_stop():
    from bot.feeds.schedule import should_poll

    day = timedelta(hours=24)
    timeout = next_poll_after_failure(NOW, 60, 1, day, kind="timeout") - NOW
    dns = next_poll_after_failure(NOW, 60, 1, day, kind="dns") - NOW
    assert dns == 4 * timeout == timedelta(hours=4)
    refused = next_poll_after_failure(NOW, 60, 1, day, kind="connect") - NOW
    assert refused == dns  # as the README says: refused, like DNS, waits 4x a timeout
    assert not should_poll(None, 1, NOW, one_shot=True, gone=True)
    assert should_poll(None, 0, NOW, one_shot=True)


def test_jitter_spreads_sources_but_is_stable():
    a = next_poll_after_success(NOW, 60, spread="nikkei") - NOW
    b = next_poll_after_success(NOW, 60, spread="kyodo") - NOW
    assert a == next_poll_after_success(NOW, 60, spread="nikkei") - NOW
    assert a != b and all(timedelta(minutes=54) <= x <= timedelta(minutes=66) for x in (a, b))


def test_per_source_bounds_and_short_test_intervals():
    assert interval(item_times=every(1), bounds=(0.25, 5)) == 0.5  # fractions of a minute work
    assert interval(item_times=every(600), bounds=(0.25, 5)) == 5
    assert interval(item_times=every(1), bounds=(0.25, 5), all_new=True) == 0.25  # not below min


def test_skip_hours_and_days_move_the_poll_out_of_them():
    at = datetime(2026, 11, 22, 1, 20, tzinfo=UTC)  # a Sunday, 01:20 GMT
    assert outside_skipped(at, (1, 2), ()) == datetime(2026, 11, 22, 3, tzinfo=UTC)
    assert outside_skipped(at, (5,), ()) == at  # not a skipped hour: unchanged
    assert outside_skipped(at, (), ("sunday",)) == datetime(2026, 11, 23, tzinfo=UTC)
    assert outside_skipped(at, (0,), ("Sunday", "monday")) == datetime(2026, 11, 24, 1, tzinfo=UTC)
    assert outside_skipped(at, range(24), ()) == at  # a feed that skips every hour is still read
    tokyo = at.astimezone(ZoneInfo("Asia/Tokyo"))  # skipHours are GMT whatever the zone
    assert outside_skipped(tokyo, (1,), ()) == datetime(2026, 11, 22, 2, tzinfo=UTC)
    assert next_poll_after_success(at - timedelta(minutes=30), 30, skip_hours=(1,)) == \
        datetime(2026, 11, 22, 2, tzinfo=UTC)
