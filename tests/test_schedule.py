"""The polling policy: a pure function of a feed's history, tested without a clock."""

from datetime import UTC, datetime, timedelta

from bot.feeds.schedule import max_age, next_poll_after_failure, next_poll_after_success

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def every(minutes: int, count: int = 10) -> list[datetime]:
    return [NOW - timedelta(minutes=minutes * i) for i in range(count)]


def interval(**kw) -> float:
    return (next_poll_after_success(NOW, kw.pop("poll_minutes", 60), **kw) - NOW).total_seconds() / 60


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
    assert not should_poll(None, 1, NOW, one_shot=True, gone=True)
    assert should_poll(None, 0, NOW, one_shot=True)


def test_jitter_spreads_sources_but_is_stable():
    a = next_poll_after_success(NOW, 60, spread="nikkei") - NOW
    b = next_poll_after_success(NOW, 60, spread="kyodo") - NOW
    assert a == next_poll_after_success(NOW, 60, spread="nikkei") - NOW
    assert a != b and all(timedelta(minutes=54) <= x <= timedelta(minutes=66) for x in (a, b))
