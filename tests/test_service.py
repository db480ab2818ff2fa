"""The service's parts without waiting for real time: its jobs, missed digests and their grace,
ops notices, disabled sources, skipHours, housekeeping, health and log lines."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from conftest import FIXED_NOW, write_config
from newsite import database, news_sources, parsed, query, serve_news_site, when
from sitesrv import Reply

from bot.app import load_app, open_pipeline
from bot.cli import deliver_due, main
from bot.config import load_settings
from bot.errors import TechwatchError
from bot.health import Health, Metrics
from bot.logs import JsonLines, Redact
from bot.scheduler import Daemon, add_jobs
from bot.store import open_archive

DIGESTS = """
[[slack.digests]]
channel = "C0DIGEST"
time = "{first}"
timezone = "Asia/Tokyo"
[[slack.digests]]
channel = "C0ALERTS"
time = "{second}"
timezone = "America/New_York"
"""


def jobs_for(config) -> dict:
    settings = load_settings(config, {})
    app = SimpleNamespace(settings=settings, now=lambda: FIXED_NOW)
    noop = SimpleNamespace(tick=print, digest=print, housekeeping=print, heartbeat=print)
    scheduler = AsyncIOScheduler(timezone="UTC")
    add_jobs(scheduler, app, noop)
    return {job.id: job for job in scheduler.get_jobs()}


def test_one_cron_job_per_digest_in_its_time_zone_and_a_config_change_leaves_nothing(tmp_path):
    config = write_config(tmp_path, [], extra=DIGESTS.format(first="08:30", second="07:00"))
    jobs = jobs_for(config)
    assert set(jobs) == {"poll", "digest:C0DIGEST", "digest:C0ALERTS", "housekeeping",
                         "heartbeat"}
    tokyo = jobs["digest:C0DIGEST"]
    assert tokyo.misfire_grace_time == 6 * 3600  # a late digest still goes, within the grace
    assert tokyo.trigger.get_next_fire_time(None, FIXED_NOW) == \
        datetime(2026, 11, 23, 8, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    # New York across the DST change (1 Nov 2026): 07:00 local is 11:00 UTC before, 12:00 after
    new_york = jobs["digest:C0ALERTS"].trigger
    before = new_york.get_next_fire_time(None, datetime(2026, 10, 30, tzinfo=UTC))
    after = new_york.get_next_fire_time(None, datetime(2026, 11, 2, tzinfo=UTC))
    assert (before.astimezone(UTC).hour, after.astimezone(UTC).hour) == (11, 12)

    config.write_text(config.read_text().replace('time = "08:30"', 'time = "09:15:30"'))
    moved = jobs_for(config)["digest:C0DIGEST"].trigger
    assert moved.get_next_fire_time(None, FIXED_NOW) == \
        datetime(2026, 11, 23, 9, 15, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    without = write_config(tmp_path / "plain", [])
    assert "digest:C0DIGEST" not in jobs_for(without) and "digest:terminal" in jobs_for(without)


def test_a_missed_digest_goes_once_within_the_grace_and_never_when_stale(tmp_path, slack, token,
                                                                         database_url):
    # 08:30 in Tokyo is 23:30 UTC the day before
    config = write_config(tmp_path, [], extra='[[slack.digests]]\nchannel = "C0DIGEST"\n'
                                              'time = "08:30"\ntimezone = "Asia/Tokyo"\n',
                          database=database_url)

    def run_at(when: datetime) -> int:
        return main(["--config", str(config), "run", "--once"], now=lambda: when)

    due = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert run_at(due - timedelta(hours=17, minutes=30)) == 0  # that morning's is 6.5 h stale
    assert slack.posts("C0DIGEST") == []
    assert run_at(due + timedelta(hours=5, minutes=50)) == 0  # back within the grace: once
    assert len(slack.posts("C0DIGEST")) == 1
    assert run_at(due + timedelta(hours=5, minutes=55)) == 0  # never twice
    assert len(slack.posts("C0DIGEST")) == 1


def test_a_terminal_digest_missed_while_down_is_printed_by_the_first_cycle_once(
        site, tmp_path, capsys, database_url, more_databases):
    serve_news_site(site)
    archive = [database_url]

    def first_cycle(digest_time: str, first_delivery_fails: bool = False) -> str:
        """A daemon's start at FIXED_NOW (12:00 UTC): its first tick, then a second one."""
        config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]),
                              extra=f'[digest]\ntime = "{digest_time}"\ntimezone = "UTC"\n',
                              database=archive[0])
        app = load_app(str(config), {}, now=lambda: FIXED_NOW)
        calls = []

        def deliver(app, **kwargs):
            calls.append(kwargs)
            if first_delivery_fails and len(calls) == 1:
                raise TechwatchError("another techwatch has been posting for 120 s")
            return deliver_due(app, **kwargs)

        async def ticks() -> None:
            async with open_pipeline(app) as pipeline:
                daemon = Daemon(app, pipeline, Health(60), Metrics(), deliver)
                await daemon.tick()
                await daemon.settled()  # its delivery runs beside the polling
                await daemon.tick()
                await daemon.settled()

        capsys.readouterr()
        try:
            asyncio.run(ticks())
        finally:
            app.close()
        return capsys.readouterr().out

    assert "techwatch digest" not in first_cycle("05:00")  # missed by 7 h: stale, skipped
    out = first_cycle("08:00")  # missed by 4 h, within the 6 h grace: printed once
    assert out.count("techwatch digest") == 1 and "Sendai" in out
    assert "techwatch digest" not in first_cycle("08:00")  # a restart: already printed
    # a first delivery that fails leaves the missed digest owed: the next cycle prints it
    archive[0] = more_databases()  # a new archive
    out = first_cycle("08:00", first_delivery_fails=True)
    assert out.count("techwatch digest") == 1


def test_ops_channel_hears_when_a_source_starts_failing_and_when_it_recovers(site, tmp_path,
                                                                            slack, token, database_url):
    serve_news_site(site)
    sources = news_sources(site, ["en-rss2.xml"]) + [
        {"id": "broken", "name": "Broken <!channel>", "url": site.url("/feeds/broken.xml")},
        {"id": "blip", "name": "Blip", "url": site.url("/feeds/blip.xml")}]
    config = write_config(tmp_path, sources, extra='[slack]\nops_channel = "C0OPS"\n'
                                                   "ops_after_failures = 2\n", database=database_url)
    feed = site.fixture("feeds/en-rss2.xml")
    site.route("/feeds/broken.xml", Reply(500, b"oops"))
    site.route("/feeds/blip.xml", Reply(503, b"busy"))
    clock = [FIXED_NOW]

    def run() -> None:
        assert main(["--config", str(config), "run", "--once"], now=lambda: clock[0]) == 0

    run()  # one failure each: not news yet
    assert slack.posts("C0OPS") == []
    site.route("/feeds/blip.xml", Reply(body=feed, headers={"Content-Type": "application/rss+xml"}))
    clock[0] += timedelta(hours=3)
    run()  # broken fails again: the ops channel hears; blip recovered from a single failure
    texts = [p["text"] for p in slack.posts("C0OPS")]
    assert len(texts) == 1 and "broken" in texts[0] and "failing since" in texts[0]
    assert "<!channel>" not in texts[0] and "&lt;!channel&gt;" in texts[0]  # names are escaped
    clock[0] += timedelta(hours=3)
    run()  # still failing: no repeat
    assert len(slack.posts("C0OPS")) == 1
    site.route("/feeds/broken.xml", Reply(body=feed, headers={"Content-Type": "application/rss+xml"}))
    clock[0] += timedelta(hours=20)
    run()
    clock[0] += timedelta(hours=1)
    run()  # recovered: said once
    texts = [p["text"] for p in slack.posts("C0OPS")]
    assert len(texts) == 2 and "broken" in texts[1] and "recovered" in texts[1]
    assert slack.refused() == []


def test_a_disabled_source_is_not_polled_until_enabled(site, tmp_path, cli, database_url):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml", "en-atom.xml"]), database=database_url)
    code, out, _ = cli("--config", str(config), "sources", "disable", "en-rss2")
    assert code == 0 and "disabled" in out
    assert cli("--config", str(config), "run", "--once")[0] == 0
    assert site.hits("/feeds/en-rss2.xml") == [] and site.hits("/feeds/en-atom.xml")
    code, out, _ = cli("--config", str(config), "status", "--json")
    import json

    health = {s["id"]: s["health"] for s in json.loads(out)["sources"]}
    assert health == {"en-rss2": "disabled", "en-atom": "ok"}
    code, _, err = cli("--config", str(config), "sources", "disable", "nope")
    assert code == 1 and "no source 'nope'" in err and "en-rss2" in err
    assert cli("--config", str(config), "sources", "enable", "en-rss2")[0] == 0
    assert cli("--config", str(config), "run", "--once")[0] == 0
    assert len(site.hits("/feeds/en-rss2.xml")) == 1


def test_skip_hours_of_a_feed_move_its_next_poll(site, tmp_path, cli, database_url):
    body = site.fixture("feeds/en-rss2.xml").replace(
        b"<channel>", b"<channel><skipHours><hour>12</hour><hour>13</hour><hour>14</hour>"
                      b"</skipHours>", 1)
    site.route("/feeds/skip.xml", Reply(body=body, headers={"Content-Type": "application/rss+xml"}))
    config = write_config(tmp_path, [{"id": "skip", "name": "Skip", "url": site.url("/feeds/skip.xml"),
                                      "fetch_fulltext": False,  # this source's own bounds:
                                      "min_minutes": 60, "max_minutes": 60}], database=database_url)
    assert cli("--config", str(config), "poll")[0] == 0
    (next_poll, skip), = query(config, "SELECT next_poll_at, skip_hours FROM sources WHERE id='skip'")
    assert when(next_poll).isoformat(" ").startswith("2026-11-22 15:00")
    assert parsed(skip) == [12, 13, 14]


def test_housekeeping_drops_old_raw_pages_fetch_logs_and_event_index_keeps_articles(site, tmp_path,
                                                                                   cli, database_url):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]), database=database_url)
    assert cli("--config", str(config), "run", "--once")[0] == 0
    archive = open_archive(database(config))
    try:
        texts = query(config, "SELECT count(*) FROM articles WHERE text != ''")[0][0]
        stories = query(config, "SELECT id, story_id FROM articles ORDER BY id")
        assert archive.prune(raw_before=FIXED_NOW - timedelta(days=1), fetch_log_before=None,
                             event_terms_before=FIXED_NOW - timedelta(days=14)) == \
            {"raw_pages": 0, "fetch_log": 0, "event_terms": 0}
        indexed = query(config, "SELECT count(*) FROM event_terms")[0][0]
        removed = archive.prune(raw_before=FIXED_NOW + timedelta(seconds=1),
                                fetch_log_before=FIXED_NOW + timedelta(seconds=1),
                                event_terms_before=FIXED_NOW + timedelta(seconds=1))
        assert removed["raw_pages"] >= 3 and removed["fetch_log"] >= 4
        assert removed["event_terms"] == indexed >= 3 * 16  # 16 terms an article
        assert query(config, "SELECT count(*) FROM articles WHERE story_terms IS NOT NULL") \
            == [(0,)]  # out of the window: their terms are not kept either
        assert query(config, "SELECT id, story_id FROM articles ORDER BY id") == stories
        archive.optimize()
    finally:
        archive.close()
    assert query(config, "SELECT count(*) FROM raw_pages")[0][0] == 0
    assert query(config, "SELECT count(*) FROM articles WHERE text != ''")[0][0] == texts
    code, out, _ = cli("--config", str(config), "search", "Sendai", "--json")
    assert code == 0 and out.strip()  # the optimised index still answers


def test_health_is_alive_while_the_loop_beats_and_ticks_come():
    now = [1000.0]
    health = Health(tick_seconds=60, clock=lambda: now[0])
    assert health.verdict() == (True, "ok")
    now[0] += 300  # no tick for over 3 intervals and a minute, and no heartbeat either
    ok, reason = health.verdict()
    assert not ok and "event loop" in reason
    health.beat()
    ok, reason = health.verdict()
    assert not ok and "no poll tick" in reason
    health.tick_started()
    assert health.verdict()[0]  # a cycle running is alive...
    now[0] += 25
    health.beat()
    health.tick_finished()
    assert health.verdict() == (True, "ok")


def test_log_lines_are_json_with_their_source_and_never_a_token():
    record = logging.LogRecord("techwatch", logging.WARNING, __file__, 1,
                               "posting with %s failed", ("xoxb-1234-5678-abcdefgh",), None)
    record.source = "nikkei"
    assert Redact(["s3cret-signing"]).filter(record)
    line = JsonLines().format(record)
    import json

    data = json.loads(line)
    assert data["level"] == "warning" and data["source"] == "nikkei"
    assert "xoxb" not in line and "[redacted]" in data["message"]


def test_status_and_sources_check_show_a_servers_markup_literally(site, tmp_path, cli):
    site.route("/feeds/odd.xml", Reply(200, b"hello", headers={"Content-Type": "text/[/red]plain"}))
    config = write_config(tmp_path, [{"id": "odd", "name": "Odd [bold]",
                                      "url": site.url("/feeds/odd.xml")}])
    assert cli("--config", str(config), "run", "--once")[0] == 0
    code, out, err = cli("--config", str(config), "status")
    assert code == 0 and "text/[/red]plain" in out and "Traceback" not in err
    code, out, err = cli("--config", str(config), "sources", "check")
    assert code == 1 and "text/[/red]plain" in out and "Traceback" not in err


def test_libraries_parse_complaints_stay_out_of_the_log(capsys):
    from bot.logs import setup_logging

    setup_logging(logging.INFO)
    logging.getLogger("trafilatura.core").error("parsed tree length: 0")
    logging.getLogger("techwatch").warning("article http://x/a: not an article")
    err = capsys.readouterr().err
    assert "parsed tree length" not in err and "not an article" in err
