"""Slack delivery end to end: the `techwatch` command against the Slack stand-in."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from conftest import FIXED_NOW, ROOT, write_config
from newsite import MANIFEST, database, news_sources, parsed, query, serve_news_site
from sitesrv import Reply
from slackstub import TOKEN

from bot.models import ArticleDraft, Classification, ExtractedText, PollOutcome, Source
from bot.store import open_archive

RELEVANT = [a for a in MANIFEST["articles"] if a.get("relevant")]
SLACK = """
[slack]
alert_max_age_hours = 120

[[slack.digests]]
channel = "C0DIGEST"
time = "20:30"  # 11:30 UTC: due half an hour before FIXED_NOW
timezone = "Asia/Tokyo"
max_stories = 60

[[slack.alerts]]
channel = "C0ALERTS"
topics = []
min_score = 0.5
"""




def titles_in(posts: list[dict]) -> str:
    return "\n".join(json.dumps(p["blocks"], ensure_ascii=False) for p in posts)


def test_alerts_and_digest_post_every_story_once(site, tmp_path, cli, slack, token, database_url):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), extra=SLACK, database=database_url)
    code, _, err = cli("--config", str(config), "run", "--once")
    assert code == 0, err
    assert slack.refused() == []  # no rejected call
    digest_posts = slack.posts("C0DIGEST")
    shown = titles_in(digest_posts)
    for a in RELEVANT:
        assert shown.count(a["title"]) == 1, a["name"]
    cutoff = FIXED_NOW - timedelta(hours=120)
    recent = {r[0] for r in query(config, "SELECT title FROM articles WHERE relevant = true AND "
                                          "source_id != 'seed' AND published >= ?",
                                  cutoff.replace(tzinfo=None))}
    alerts = slack.posts("C0ALERTS")
    assert len(alerts) == len(recent) >= 1
    assert all(titles_in(alerts).count(t) == 1 for t in recent)
    for post in digest_posts + alerts:
        assert post["unfurl_links"] is False and post["metadata"]["event_type"] == \
            "techwatch_delivery"
    assert query(config, "SELECT count(*) FROM deliveries WHERE status != 'sent'")[0][0] == 0

    posted = len(slack.posts())
    assert cli("--config", str(config), "run", "--once")[0] == 0
    code, _, err = cli("--config", str(config), "digest")
    assert code == 0 and "Nothing new" in err
    assert len(slack.posts()) == posted  # nothing twice
    code, _, _ = cli("--config", str(config), "digest", "--always")
    assert code == 0 and "No new US–Japan technology coverage" in titles_in(slack.posts()[-1:])
    assert slack.refused() == []


def test_dry_run_prints_block_kit_and_records_nothing(site, tmp_path, cli, slack, token, database_url):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), extra=SLACK, database=database_url)
    assert cli("--config", str(config), "poll")[0] == 0
    code, out, _ = cli("--config", str(config), "digest", "--dry-run")
    messages = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and messages and messages[0]["channel"] == "C0DIGEST"
    assert messages[0]["blocks"][0]["type"] == "header"
    assert slack.posts() == [] and query(config, "SELECT count(*) FROM deliveries")[0][0] == 0


def test_429_on_the_first_post_is_retried_after_retry_after(site, tmp_path, cli, slack, token, database_url):
    """... and the posts after it keep Slack's pace of one a second a channel, counted from
    the retry Slack took, so they are not limited in turn."""
    serve_news_site(site)
    slack.script["chat.postMessage"].append(("429", 1))
    slack.min_gap = 1.0
    config = write_config(tmp_path, news_sources(site), extra=SLACK, database=database_url)
    started = time.monotonic()
    assert cli("--config", str(config), "run", "--once")[0] == 0
    assert time.monotonic() - started >= 1.0
    keys = [p["metadata"]["event_payload"]["delivery"] for p in slack.posts()]
    first = slack.calls_to("chat.postMessage")[0]["channel"]
    assert len(keys) == len(set(keys)) >= 2 and len(slack.posts(first)) >= 2
    assert slack.too_soon == []
    assert len(slack.calls_to("chat.postMessage")) == len(keys) + 1


def test_a_long_retry_after_holds_the_channel_until_it_has_passed(site, tmp_path, cli, slack,
                                                                  token, database_url):
    """A 429 asking for more than a post waits (10 s): the channel is not called at all until
    then, not even to look for the message (Slack said it did not take it); then it goes out."""
    serve_news_site(site)
    slack.script["chat.postMessage"] += [("429", "100"), ("429", "2.0")]  # "2.0": read too
    config = write_config(tmp_path, news_sources(site, ["ja-rss1-sjis.rdf"]), extra=SLACK,
                          database=database_url)
    started = time.monotonic()
    code, _, err = cli("--config", str(config), "run", "--once")
    assert code == 0 and time.monotonic() - started < 60 and "Traceback" not in err
    assert "Slack asks to wait 100 s (429)" in err  # not 100 s of stalled polling
    pending = query(config, "SELECT count(*) FROM deliveries WHERE status = 'pending'")[0][0]
    assert pending >= 1 and slack.posts()  # that channel waits; the other was posted
    held = slack.calls_to("chat.postMessage")[0]["channel"]
    calls = len(slack.calls)
    assert cli("--config", str(config), "run", "--once")[0] == 0  # the next cycle, too soon
    assert not [p for _, p in slack.calls[calls:] if p.get("channel") == held]
    code, out, _ = cli("--config", str(config), "status")
    assert f"Slack asked to wait before posting to {held} again" in " ".join(out.split())
    from bot.cli import main

    later = FIXED_NOW + timedelta(seconds=101)
    assert main(["--config", str(config), "run", "--once"], now=lambda: later) == 0
    keys = [p["metadata"]["event_payload"]["delivery"] for p in slack.posts()]
    assert len(keys) == len(set(keys)) >= 2
    assert query(config, "SELECT count(*) FROM deliveries WHERE status = 'pending'")[0][0] == 0
    assert not slack.calls_to("conversations.history")  # nothing was looked for

def test_retry_after_is_read_once_and_bounded():
    """Slack's header is read by one function: a number of seconds, at most an hour a try."""
    from slack_sdk.http_retry.response import HttpResponse

    from bot.notify.slack import MAX_RETRY_AFTER, retry_after

    def read(value: str) -> float:
        return retry_after(HttpResponse(status_code=429, headers={"Retry-After": [value]},
                                        body={}))

    assert MAX_RETRY_AFTER == 3600
    assert [read(v) for v in ("30", "2.0", "1e9", "inf", "-inf", "-5", "nan", "soon", "")] == \
        [30, 2, 3600, 3600, 0, 0, 1, 1, 1]
    assert retry_after(None) == 1


def test_an_absurd_retry_after_holds_the_channel_an_hour_at_most_and_never_crashes(
        site, tmp_path, slack, token, capsys, caplog, database_url):
    """Retry-After "1e9" once held a channel until 2058, "inf" and "nan" ended the run with a
    traceback: the first is held an hour (the date and time said), the other read as 1 s."""
    from bot.cli import main

    serve_news_site(site)
    slack.script["chat.postMessage"] += [("429", "1e9"), ("429", "nan")]
    config = write_config(tmp_path, news_sources(site, ["ja-rss1-sjis.rdf"]), extra=SLACK,
                          database=database_url)
    assert main(["--config", str(config), "run", "--once"], now=lambda: FIXED_NOW) == 0
    err = capsys.readouterr().err + caplog.text
    assert "Traceback" not in err and "its messages wait until 2026-11-22 13:00 UTC" in err
    held = slack.calls_to("chat.postMessage")[0]["channel"]
    other = ({"C0DIGEST", "C0ALERTS"} - {held}).pop()
    assert slack.posts(other) and not slack.posts(held)  # "nan": tried again at once, posted
    assert main(["--config", str(config), "status"], now=lambda: FIXED_NOW) == 0
    assert "next try 2026-11-22 13:00" in " ".join(capsys.readouterr().out.split())
    slack.script["chat.postMessage"].append(("429", "inf"))
    later = FIXED_NOW + timedelta(minutes=61)  # an hour later it is tried: "inf", an hour more
    assert main(["--config", str(config), "run", "--once"], now=lambda: later) == 0
    err = capsys.readouterr().err + caplog.text
    assert "Traceback" not in err and "wait until 2026-11-22 14:01 UTC" in err
    assert main(["--config", str(config), "run", "--once"],
                now=lambda: later + timedelta(minutes=61)) == 0
    assert slack.posts(held)
    assert query(config, "SELECT count(*) FROM deliveries WHERE status = 'pending'")[0][0] == 0


def test_a_missing_scope_in_one_private_channel_holds_that_channel_only(
        site, tmp_path, token, monkeypatch, capsys, caplog, database_url):
    """Looking for an earlier try in a private channel needs groups:history: without it, that
    channel waits (the line names the scope and says to reinstall), the others are posted by the
    same process, and once the scope is added its messages go out, none twice."""
    from slackstub import SlackStub

    from bot.app import load_app
    from bot.cli import deliver_due, main

    stub = SlackStub(channels=("C0DIGEST",), private=("C0PRIV",))
    stub.scopes.discard("groups:history")
    monkeypatch.setenv("SLACK_API_URL", stub.url)
    serve_news_site(site)
    extra = SLACK.replace('channel = "C0ALERTS"', 'channel = "C0PRIV"')
    config = write_config(tmp_path, news_sources(site, ["ja-rss1-sjis.rdf"]), extra=extra,
                          database=database_url)
    assert main(["--config", str(config), "poll"], now=lambda: FIXED_NOW) == 0
    stub.script["chat.postMessage"].append(("store_then_500",))  # the first alert: unknown
    clock = [FIXED_NOW]
    app = load_app(str(config), os.environ, now=lambda: clock[0])  # one daemon's lifetime
    try:
        first = deliver_due(app)
        assert stub.calls_to("chat.postMessage")[0]["channel"] == "C0PRIV"
        assert ("conversations.history", "missing_scope") in stub.refused()
        lines = [p for p in first.problems if "C0PRIV" in p]
        assert len(lines) == 1 and "the groups:history scope" in lines[0], first.problems
        assert "reinstall the app" in lines[0] and "next try 2026-11-22 12:01 UTC" in lines[0]
        assert not any("SLACK_BOT_TOKEN" in p for p in first.problems)
        assert stub.posts("C0DIGEST") and len(stub.posts("C0PRIV")) == 1  # the digest went out
        assert query(config, "SELECT error FROM channel_holds") == \
            [("missing_scope (needs groups:history)",)]
        stub.scopes.add("groups:history")  # the admin adds it and reinstalls
        clock[0] = FIXED_NOW + timedelta(minutes=2)
        second = deliver_due(app)
    finally:
        app.close()
        stub.stop()
    assert second.reconciled == 1 and len(stub.posts("C0PRIV")) == 1  # found, not posted twice
    assert query(config, "SELECT count(*) FROM deliveries WHERE status != 'sent'")[0][0] == 0
    assert query(config, "SELECT count(*) FROM channel_holds")[0][0] == 0
    assert "C0PRIV: posting again" in capsys.readouterr().err + caplog.text


def test_a_bad_token_is_said_once_and_not_tried_again_by_the_same_process(site, tmp_path,
                                                                        slack, monkeypatch, database_url):
    from bot.app import load_app
    from bot.cli import deliver_due

    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["ja-rss1-sjis.rdf"]), extra=SLACK,
                          database=database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked-token-5678")
    from bot.cli import main

    assert main(["--config", str(config), "poll"], now=lambda: FIXED_NOW) == 0
    app = load_app(str(config), os.environ, now=lambda: FIXED_NOW)  # one daemon's lifetime
    try:
        first = deliver_due(app)
        calls = len(slack.calls)
        later = [deliver_due(app) for _ in range(3)]
    finally:
        app.close()
    assert len(first.problems) == 1 and "SLACK_BOT_TOKEN is not valid" in first.problems[0]
    assert len(slack.calls) == calls  # no call to Slack again
    assert all(r.problems == [] and r.pending == r.failed == 0 and r.held for r in later)
    assert query(config, "SELECT count(*) FROM deliveries WHERE status = 'sent'")[0][0] == 0


def test_unknown_outcome_is_reconciled_not_posted_twice(site, tmp_path, cli, slack, token, database_url):
    serve_news_site(site)
    slack.script["chat.postMessage"].append(("store_then_500",))
    config = write_config(tmp_path, news_sources(site, ["ja-rss1-sjis.rdf"]), extra=SLACK,
                          database=database_url)
    assert cli("--config", str(config), "run", "--once")[0] == 0
    keys = [p["metadata"]["event_payload"]["delivery"] for p in slack.posts()]
    assert len(keys) == len(set(keys))
    assert slack.calls_to("conversations.history")  # it looked before posting again
    assert query(config, "SELECT count(*) FROM deliveries WHERE status != 'sent'")[0][0] == 0


def test_a_reply_cut_off_after_slack_took_the_post_is_looked_for_not_a_crash(
        site, tmp_path, cli, slack, token, database_url):
    serve_news_site(site)
    slack.script["chat.postMessage"].append(("store_then_cut",))  # http.client.IncompleteRead
    config = write_config(tmp_path, news_sources(site, ["ja-rss1-sjis.rdf"]), extra=SLACK,
                          database=database_url)
    code, _, err = cli("--config", str(config), "run", "--once")
    assert code == 0 and "Traceback" not in err
    keys = [p["metadata"]["event_payload"]["delivery"] for p in slack.posts()]
    assert len(keys) == len(set(keys)) >= 2  # the cut one was found, not posted again
    assert query(config, "SELECT count(*) FROM deliveries WHERE status != 'sent'")[0][0] == 0


def test_5xx_is_retried_with_back_off_after_looking_first(site, tmp_path, cli, slack, token, database_url):
    serve_news_site(site)
    slack.script["chat.postMessage"] += [("500",), ("500",)]
    config = write_config(tmp_path, news_sources(site, ["ja-rss1-sjis.rdf"]), extra=SLACK,
                          database=database_url)
    started = time.monotonic()
    assert cli("--config", str(config), "run", "--once")[0] == 0
    assert time.monotonic() - started >= 3.0  # 1 s, then 2 s
    keys = [p["metadata"]["event_payload"]["delivery"] for p in slack.posts()]
    assert len(keys) == len(set(keys)) >= 2
    assert len(slack.calls_to("conversations.history")) >= 2
    assert query(config, "SELECT count(*) FROM deliveries WHERE status != 'sent'")[0][0] == 0


def test_crash_between_post_and_ledger_then_rerun_posts_nothing_twice(site, tmp_path, slack, database_url):
    serve_news_site(site)
    slack.script["chat.postMessage"].append(("store_then_hang", 30))
    # A separate process runs on the wall clock, not FIXED_NOW: due half an hour ago, any age.
    due = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%H:%M")
    wall_clock = (SLACK.replace('"20:30"', f'"{due}"').replace("Asia/Tokyo", "UTC")
                  .replace("alert_max_age_hours = 120", "alert_max_age_hours = 100000"))
    config = write_config(tmp_path, news_sources(site, ["ja-rss1-sjis.rdf"]), extra=wall_clock,
                          database=database_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": TOKEN,
           "SLACK_API_URL": slack.url}
    command = [sys.executable, "-m", "bot", "--config", str(config), "run", "--once"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not slack.posts() and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # the message is in Slack, the ledger says pending
    process.wait()
    assert len(slack.posts()) == 1
    first_key = slack.posts()[0]["metadata"]["event_payload"]["delivery"]
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    keys = [p["metadata"]["event_payload"]["delivery"] for p in slack.posts()]
    assert keys.count(first_key) == 1 and len(keys) == len(set(keys))
    assert query(config, "SELECT count(*) FROM deliveries WHERE status != 'sent'")[0][0] == 0


def test_a_dead_channel_next_to_a_live_one_is_tried_less_often_until_it_works(
        site, tmp_path, slack, token, capsys, caplog, database_url):
    from bot.cli import main

    serve_news_site(site)
    extra = SLACK + '\n[[slack.digests]]\nchannel = "C0GONE"\ntime = "11:00"\n'
    config = write_config(tmp_path, news_sources(site, ["ja-rss1-sjis.rdf"]), extra=extra,
                          database=database_url)

    def run(minutes: float, *args: str, code: int = 0) -> tuple[str, str]:
        caplog.clear()
        later = FIXED_NOW + timedelta(minutes=minutes)
        assert main(["--config", str(config), *(args or ("run", "--once"))],
                    now=lambda: later) == code
        out = capsys.readouterr()
        return out.out, out.err + caplog.text

    def tries() -> int:  # a post, or a look for an earlier post, to the channel
        return sum(params.get("channel") == "C0GONE" for method, params in slack.calls
                   if method != "chat.getPermalink")  # (asked once a post went out)

    _, err = run(0)
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "C0GONE" in line]
    assert len(lines) == 1 and "channel_not_found" in lines[0] and "next try" in lines[0]
    assert slack.posts("C0DIGEST") and not slack.posts("C0GONE") and tries() == 1
    assert query(config, "SELECT status FROM deliveries WHERE channel = 'C0GONE'") == \
        [("pending",)]
    _, err = run(0.5)  # the next cycle: the channel is not due, no call, no line
    assert tries() == 1 and "C0GONE" not in err
    out, _ = run(0.5, "status")
    assert "Slack refuses C0GONE: channel_not_found" in out and "next try 2026-11-22 12:01" in out
    out, _ = run(30, "status")  # its time has come: the next run tries
    assert "its messages wait, next try on the next run" in out
    _, err = run(0.6, "digest", "--channel", "C0GONE", "--always", code=1)  # tried now
    assert tries() == 2 and "channel_not_found" in err and "dropped" in err  # the earlier one
    # waits (refused again), the digest asked for now is dropped, not posted later by surprise
    assert query(config, "SELECT status FROM deliveries WHERE channel = 'C0GONE' AND key LIKE "
                         "'%:manual:%'") == [("failed",)]
    _, err = run(1.5)  # refused twice: the next try two minutes after the second
    assert tries() == 2 and "C0GONE" not in err
    _, err = run(3)
    assert tries() == 3 and "refused 3x" in err  # then four minutes later
    run(5)
    assert tries() == 3
    slack.channels.add("C0GONE")  # the channel is back
    _, err = run(7.5)
    assert tries() == 5 and len(slack.posts("C0GONE")) == 1  # looked for an earlier try, posted
    assert "C0GONE: posting again" in err
    assert query(config, "SELECT count(*) FROM channel_holds")[0][0] == 0
    assert query(config, "SELECT status FROM deliveries WHERE channel = 'C0GONE' AND key NOT "
                         "LIKE '%:manual:%'") == [("sent",)]


def run_hourly(config, slack, hours: int) -> list[int]:
    """`run --once` at the start of each of `hours` hours: C0ALERTS's top-level posts after
    each."""
    from bot.cli import main

    roots = []
    for hour in range(hours):
        later = FIXED_NOW + timedelta(hours=hour, minutes=1)
        assert main(["--config", str(config), "run", "--once"], now=lambda t=later: t) == 0
        roots.append(len([p for p in slack.posts("C0ALERTS") if not p["thread_ts"]]))
    return roots


def test_alerts_over_the_cap_in_a_channel_without_a_digest_come_in_later_hours(site, tmp_path,
                                                                              slack, token, database_url):

    serve_news_site(site)
    extra = SLACK.replace("[slack]\n", "[slack]\nalert_hourly_cap = 1\n")  # no digest there
    config = write_config(tmp_path, news_sources(site), extra=extra, database=database_url)
    roots = run_hourly(config, slack, 8)
    notes = [p["text"] for p in slack.posts("C0ALERTS") if "more new" in p["text"]]
    assert notes and all("when the hourly limit allows" in n for n in notes)
    alerts = [p for p in slack.posts("C0ALERTS") if not p["thread_ts"] and "more new" not in p["text"]]
    assert roots[0] == 2 and len(alerts) >= 3  # an alert and the note, then one an hour
    assert len(alerts) == len({json.dumps(p["blocks"]) for p in alerts})  # each story once
    assert query(config, "SELECT count(*) FROM deliveries WHERE channel = 'C0ALERTS' AND "
                         "kind = 'rolled'")[0][0] == 0


def test_watches_in_the_config_alert_under_the_same_cap_each_story_once(site, tmp_path, slack,
                                                                      token, database_url):
    """[[slack.watches]] instead of [[slack.alerts]]: the hourly cap, its note and the ledger
    are the topic alerts' (one mechanism); two watches matching one story alert it once."""

    serve_news_site(site)
    watches = ('[[slack.watches]]\nchannel = "C0ALERTS"\nquery = "Japan OR 日本"\n'
               '[[slack.watches]]\nchannel = "C0ALERTS"\nquery = "Japan"\nrelevant_only = false\n')
    extra = SLACK.replace("[slack]\n", "[slack]\nalert_hourly_cap = 1\n").replace(
        '[[slack.alerts]]\nchannel = "C0ALERTS"\ntopics = []\nmin_score = 0.5\n', watches)
    config = write_config(tmp_path, news_sources(site), extra=extra, database=database_url)
    roots = run_hourly(config, slack, 6)
    posts = [p for p in slack.posts("C0ALERTS") if not p["thread_ts"]]
    notes = [p for p in posts if "more new" in p["text"]]
    alerts = [p for p in posts if "more new" not in p["text"]]
    assert roots[0] == 2 and notes and len(alerts) >= 3  # an alert and the note, then the cap's
    assert all("Watch config" in json.dumps(p["blocks"]) for p in alerts)
    assert len({json.dumps(p["blocks"]) for p in alerts}) == len(alerts)  # each story once
    counted = query(config, "SELECT watch_key, count(*) FROM watch_matches GROUP BY watch_key "
                            "ORDER BY watch_key")
    assert [key for key, _ in counted] == ["config:0", "config:1"] and all(n for _, n in counted)


def test_a_cycle_matches_what_completed_since_and_what_waits_for_the_cap(site, tmp_path, slack,
                                                                       token, database_url):
    """The daemon's App matches a channel's watches against the articles completed since its
    last cycle, plus those matched before that still wait for an alert: never the archive."""
    from bot.app import load_app
    from bot.cli import main
    from bot.notify.service import watch_hits
    from bot.watches import SavedWatch

    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), extra=SLACK, database=database_url)
    assert main(["--config", str(config), "poll"], now=lambda: FIXED_NOW) == 0
    app = load_app(str(config), {}, now=lambda: FIXED_NOW)
    try:
        watches = [SavedWatch("config:0", "config", "Japan OR 日本", relevant_only=False)]
        window = FIXED_NOW - timedelta(days=30)
        first = watch_hits(app, "C0ALERTS", watches, window, FIXED_NOW)
        mark = app.watch_marks["C0ALERTS"]
        assert first and mark <= FIXED_NOW
        calls = []
        original = app.archive.watch_candidates

        def spy(*args, **kwargs):
            found = original(*args, **kwargs)
            calls.append(kwargs["completed_from"])
            return found

        app.archive.watch_candidates = spy
        again = watch_hits(app, "C0ALERTS", watches, window, FIXED_NOW)
        assert calls == [mark]  # only what completed since the last cycle ...
        assert set(again) == set(first)  # ... and what it matched, not alerted yet
    finally:
        app.close()


def test_alerts_over_the_cap_roll_only_into_a_digest_that_takes_them(site, tmp_path, cli, slack,
                                                                     token, database_url):
    serve_news_site(site)
    extra = SLACK.replace("[slack]\n", "[slack]\nalert_hourly_cap = 1\n") + (
        '\n[[slack.digests]]\nchannel = "C0ALERTS"\ntime = "06:00"\ntopics = ["space"]\n')
    config = write_config(tmp_path, news_sources(site), extra=extra, database=database_url)
    assert cli("--config", str(config), "run", "--once")[0] == 0
    rolled = query(config, "SELECT a.topics FROM deliveries d JOIN articles a ON a.id = "
                           "d.article_id WHERE d.channel = 'C0ALERTS' AND d.kind = 'rolled'")
    waiting = query(config, "SELECT count(*) FROM articles a WHERE relevant = true AND source_id != "
                            "'seed' AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.channel ="
                            " 'C0ALERTS' AND d.article_id = a.id)")[0][0]
    assert rolled and all("space" in parsed(t) for (t,) in rolled)  # the digest's topic
    assert waiting >= 1  # the others wait for a later hour
    note = next(p["text"] for p in slack.posts("C0ALERTS") if "more new" in p["text"])
    assert f"{len(rolled)} will come in the next digest" in note and "hourly limit" in note


def test_without_a_token_the_same_messages_go_to_the_terminal(site, tmp_path, cli, slack, database_url):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["ja-rss1-sjis.rdf"]), extra=SLACK,
                          database=database_url)
    code, out, _ = cli("--config", str(config), "run", "--once")
    assert code == 0 and "── #C0DIGEST · digest ──" in out and "TECHWATCH DIGEST" in out
    assert any(a["title"] in out for a in RELEVANT if a["lang"] == "ja")
    assert slack.calls == []


def archive_60_stories(config):
    archive = open_archive(database(config))
    archive.sync_sources([Source("wire", "https://wire.example/feed", "Wire")])
    drafts = [ArticleDraft(source_id="wire", url=f"https://wire.example/{i}",
                           canonical_url=f"https://wire.example/{i}",
                           keys=(f"url:wire.example/{i}",),
                           title=f"US-Japan <b>story</b> {i:02d} | " + "y" * 150,
                           summary="The United States and Japan agreed on chips. " * 6,
                           guid=None, feed_published=FIXED_NOW - timedelta(hours=i % 30),
                           lang="en", publisher=None, fetch_fulltext=False)
              for i in range(60)]
    archive.record_poll("wire", PollOutcome("ok", FIXED_NOW), drafts, FIXED_NOW)
    for pending in archive.pending_articles():
        verdict = Classification(True, 0.9, ("semiconductors",), {"semiconductors": ("chips",)})
        archive.complete_article(pending, ExtractedText("feed_only"), verdict,
                                 published=pending.feed_published, date_source="feed",
                                 text="", now=FIXED_NOW)
    archive.close()


HOSTILE_TITLE = "*Breaking* _U.S.-Japan_ ~chip~ `deal` ```x``` AI_Act 5* fo\u200bo*b*\u2060 & <!here>"
INERT_TITLE = "∗Breaking∗ ˍU.S.-Japanˍ ∼chip∼ ˋdealˋ ˋˋˋxˋˋˋ AIˍAct 5∗ foo∗b∗ &amp; &lt;!here&gt;"


def archive_hostile_story(config):
    """An article whose headline, outlet and text carry Slack's formatting characters."""
    archive = open_archive(database(config))
    archive.sync_sources([Source("wire", "https://wire.example/feed", "*Wire*_Desk")])
    draft = ArticleDraft(source_id="wire", url="https://wire.example/ai_act*5",
                         canonical_url="https://wire.example/ai_act*5",
                         keys=("url:wire.example/ai_act*5",), title=HOSTILE_TITLE,
                         summary="", guid=None, feed_published=FIXED_NOW - timedelta(hours=2),
                         lang="en", publisher=None, fetch_fulltext=False)
    archive.record_poll("wire", PollOutcome("ok", FIXED_NOW), [draft], FIXED_NOW)
    for pending in archive.pending_articles():
        verdict = Classification(True, 0.9, ("semiconductors",), {"semiconductors": ("chips",)})
        archive.complete_article(pending, ExtractedText("feed_only"), verdict,
                                 published=pending.feed_published, date_source="feed",
                                 text="Tokyo and the U.S. said *nothing* about `chips` today. "
                                      "More.", now=FIXED_NOW)
    archive.close()


def test_what_reaches_slack_from_a_headline_cannot_format(tmp_path, cli, slack, token, database_url):
    """In the alert and the digest, as Slack receives them: the headline's markers are
    look-alikes, its zero-width characters gone; the link, its URL and the entities work."""
    config = write_config(tmp_path, [], extra=SLACK, database=database_url)
    archive_hostile_story(config)
    code, _, err = cli("--config", str(config), "run", "--once")
    assert code == 0, err
    assert slack.refused() == [] and slack.posts("C0ALERTS") and slack.posts("C0DIGEST")
    for post in slack.posts():
        sent = json.dumps(post, ensure_ascii=False)
        assert not any(z in sent for z in "\u200b\u200d\u2060")
        for raw in ("*Breaking*", "_U.S.-Japan_", "~chip~", "`deal`", "```", "AI_Act",
                    "5* ", "*nothing*", "`chips`", "*Wire*", "_Desk", "<!here>"):
            assert raw not in sent, (raw, sent)
        assert f"*<https://wire.example/ai_act*5|{INERT_TITLE}>*" in sent
        assert "∗Wire∗ˍDesk · " in sent and "said ∗nothing∗ about ˋchipsˋ" in sent
    alert = slack.posts("C0ALERTS")[0]
    assert alert["text"] == f"techwatch alert: {INERT_TITLE}"


def test_a_60_story_digest_goes_out_in_a_thread_without_rejection(tmp_path, cli, slack, token, database_url):
    config = write_config(tmp_path, [], extra=SLACK, database=database_url)
    archive_60_stories(config)
    code, _, err = cli("--config", str(config), "digest", "--channel", "C0DIGEST")
    assert code == 0, err
    posts = slack.posts("C0DIGEST")
    assert f"Digest for C0DIGEST: {len(posts)} messages posted to Slack." in err
    assert len(posts) >= 2 and posts[0]["thread_ts"] is None
    assert all(p["thread_ts"] == posts[0]["ts"] for p in posts[1:])
    shown = titles_in(posts)
    assert all(shown.count(f"story&lt;/b&gt; {i:02d} ¦") == 1 for i in range(60))
    assert slack.refused() == []


def test_a_refused_message_fails_its_thread_and_blocks_nothing(tmp_path, cli, slack, token, database_url):
    config = write_config(tmp_path, [], extra=SLACK, database=database_url)
    archive_60_stories(config)
    slack.script["chat.postMessage"].append(("error", "invalid_blocks"))
    code, _, err = cli("--config", str(config), "digest", "--channel", "C0DIGEST")
    assert "invalid_blocks" in err and "Traceback" not in err
    statuses = [r[0] for r in query(config, "SELECT status FROM deliveries ORDER BY id")]
    assert statuses and set(statuses) == {"failed"}  # the thread parts follow their parent
    from bot.cli import main

    later = FIXED_NOW + timedelta(minutes=5)
    assert main(["--config", str(config), "digest", "--channel", "C0DIGEST"],
                now=lambda: later) == 0
    posts = slack.posts("C0DIGEST")  # the channel is not held, and no story was lost
    assert posts and all(titles_in(posts).count(f"story&lt;/b&gt; {i:02d} ¦") == 1
                         for i in range(60))
    assert all(c.get("channel") == "C0DIGEST" for c in slack.calls_to("chat.postMessage"))


def test_a_refused_thread_part_gives_its_stories_to_the_next_digest(tmp_path, cli, slack, token,
                                                                    database_url):
    config = write_config(tmp_path, [], extra=SLACK, database=database_url)
    archive_60_stories(config)
    slack.script["chat.postMessage"] += [("ok",), ("error", "invalid_blocks")]  # part 1 refused
    code, _, err = cli("--config", str(config), "digest", "--channel", "C0DIGEST")
    assert "invalid_blocks" in err and "Traceback" not in err
    first = titles_in(slack.posts("C0DIGEST"))
    missing = [i for i in range(60) if f"story&lt;/b&gt; {i:02d} ¦" not in first]
    assert missing  # the refused part's stories
    from bot.cli import main

    later = FIXED_NOW + timedelta(minutes=5)
    assert main(["--config", str(config), "digest", "--channel", "C0DIGEST"],
                now=lambda: later) == 0
    shown = titles_in(slack.posts("C0DIGEST"))
    assert all(shown.count(f"story&lt;/b&gt; {i:02d} ¦") == 1 for i in range(60))  # none lost


def test_a_digest_asked_for_now_that_slack_refuses_is_never_posted_later_nor_the_days_digest(
        site, tmp_path, slack, token, monkeypatch, capsys, database_url):
    from bot.cli import main

    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["ja-rss1-sjis.rdf"]), extra=SLACK,
                          database=database_url)
    assert main(["--config", str(config), "poll"], now=lambda: FIXED_NOW) == 0

    def run(minutes: float, *args: str) -> str:
        capsys.readouterr()
        main(["--config", str(config), *args], now=lambda: FIXED_NOW + timedelta(minutes=minutes))
        return capsys.readouterr().err

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-the-token-1234")
    run(0, "run", "--once")  # the alerts are refused: they wait for a valid token
    err = run(0.5, "digest", "--channel", "C0DIGEST", "--always")
    assert "invalid_auth: SLACK_BOT_TOKEN is not valid" in err and "Traceback" not in err
    err = run(1, "run", "--once")  # looking for the earlier try is refused too: one clear line
    lines = [line for line in err.splitlines() if "invalid_auth" in line]
    assert lines and all("SLACK_BOT_TOKEN is not valid" in line for line in lines)
    assert "The request to the Slack API failed" not in err and "Traceback" not in err
    manual = query(config, "SELECT status, last_error FROM deliveries WHERE key LIKE "
                           "'%:manual:%:part-0'")
    assert manual == [("failed", "invalid_auth")]  # refused when asked: dropped at once
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    run(2, "run", "--once")  # the token is fixed two minutes later: the day's digest is still
    posts = slack.posts("C0DIGEST")  # owed (within the grace); the one asked for is not posted
    assert len(posts) == 1 and "techwatch digest" in titles_in(posts)
    assert "No new" not in str(posts[0])


def test_a_syndicated_copy_joins_its_story_and_threads_under_the_alert(site, tmp_path, cli,
                                                                      slack, token, database_url):
    serve_news_site(site)
    en03 = next(a for a in MANIFEST["articles"] if a["name"] == "en-03")
    original = site.fixture("articles/en-03.html").decode()
    copy = (original.replace(f'{site.base}/articles/en-03.html', f'{site.base}/wire/rover.html')
            .replace(en03["title"], "Japan-built rover gets NASA launch date")
            .replace("Most read", "Popular"))
    site.route("/wire/rover.html", Reply(body=copy.encode(), headers={"Content-Type": "text/html"}))
    wire = ('<rss version="2.0"><channel><title>Wire</title><item><title>Japan-built rover gets '
            f'NASA launch date</title><link>{site.url("/wire/rover.html")}</link><pubDate>Wed, '
            '18 Nov 2026 09:00:00 GMT</pubDate></item></channel></rss>')
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]), extra=SLACK, database=database_url)
    assert cli("--config", str(config), "run", "--once")[0] == 0
    alert = next(p for p in slack.posts("C0ALERTS") if en03["title"] in titles_in([p]))
    digest_posts = len(slack.posts("C0DIGEST"))

    site.route("/wire.xml", Reply(body=wire.encode(), headers={"Content-Type": "text/xml"}))
    sources = news_sources(site, ["en-rss2.xml"]) + [
        {"id": "wire", "name": "Pacific Wire", "url": site.url("/wire.xml")}]
    write_config(tmp_path, sources, extra=SLACK, database=database_url)
    assert cli("--config", str(config), "run", "--once")[0] == 0
    stories = dict(query(config, "SELECT url, story_id FROM articles WHERE source_id != 'seed'"))
    assert stories[site.url("/wire/rover.html")] == stories[site.url("/articles/en-03.html")]
    assert stories[site.url("/articles/en-01.html")] != stories[site.url("/articles/en-04.html")]
    replies = [p for p in slack.posts("C0ALERTS") if p["thread_ts"] == alert["ts"]]
    assert len(replies) == 1 and "Also reported by *Pacific Wire*" in titles_in(replies)
    assert not any("Japan-built rover gets NASA" in titles_in([p]) and not p["thread_ts"]
                   for p in slack.posts())  # no second alert, no digest entry of its own
    assert len(slack.posts("C0DIGEST")) == digest_posts
    code, out, _ = cli("--config", str(config), "digest", "--dry-run")
    assert code == 0 and out == ""  # the copy's story already went out in the digest
    code, out, _ = cli("--config", str(config), "search", "rover", "--json")
    results = [json.loads(line) for line in out.splitlines()]
    rover = [r for r in results if r["story_id"] == stories[site.url("/articles/en-03.html")]]
    assert len(rover) == 1 and rover[0]["story_size"] == 2  # one result a story, its size
    assert "Pacific Wire" in rover[0]["also"] or rover[0]["source"] == "Pacific Wire"


def test_the_monday_digest_carries_the_weekly_chart_in_its_thread(site, tmp_path, slack, token, database_url):
    serve_news_site(site)
    extra = SLACK.replace('max_stories = 60', 'max_stories = 60\nmonday_chart = true')
    config = write_config(tmp_path, news_sources(site), extra=extra, database=database_url)
    from bot.cli import main

    sunday = FIXED_NOW  # 2026-11-22 21:00 in Tokyo is a Sunday: no chart
    assert main(["--config", str(config), "run", "--once"], now=lambda: sunday) == 0
    assert slack.files_shared == []
    monday = FIXED_NOW + timedelta(days=1)
    assert main(["--config", str(config), "run", "--once"], now=lambda: monday) == 0
    digest = [p for p in slack.posts("C0DIGEST") if not p["thread_ts"]][-1]
    (shared,) = slack.files_shared
    assert shared["channel"] == "C0DIGEST" and shared["thread_ts"] == digest["ts"]
    png = slack.uploads[shared["id"]]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[16:24] == (1000).to_bytes(4, "big") + \
        (500).to_bytes(4, "big")  # IHDR: 1000 x 500
    assert main(["--config", str(config), "run", "--once"], now=lambda: monday) == 0
    assert len(slack.files_shared) == 1  # once


def test_alerts_held_back_by_a_channel_the_bot_could_not_post_to_expire(site, tmp_path, slack,
                                                                         token, capsys, database_url):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]), extra=SLACK, database=database_url)
    slack.not_in.add("C0ALERTS")  # the bot was not invited yet
    from bot.cli import main

    assert main(["--config", str(config), "run", "--once"], now=lambda: FIXED_NOW) == 0
    held = query(config, "SELECT count(*) FROM deliveries WHERE channel = 'C0ALERTS' AND "
                         "kind = 'alert' AND status = 'pending'")[0][0]
    assert held >= 3 and slack.posts("C0ALERTS") == []
    slack.not_in.clear()  # invited three days later: old news is not posted as an alert
    later = FIXED_NOW + timedelta(hours=121)
    assert main(["--config", str(config), "run", "--once"], now=lambda: later) == 0
    assert slack.posts("C0ALERTS") == []
    assert query(config, "SELECT count(*) FROM deliveries WHERE channel = 'C0ALERTS' AND "
                         "last_error = 'expired'")[0][0] == held
    assert query(config, "SELECT channel FROM channel_holds") == []  # nothing waits: no hold
    code = main(["--config", str(config), "status"], now=lambda: later)
    assert code == 0 and "Slack refuses" not in capsys.readouterr().out
    # another outlet of an expired alert's story: no thread to join, settled without a message
    en03 = next(a for a in MANIFEST["articles"] if a["name"] == "en-03")
    copy = site.fixture("articles/en-03.html").decode().replace(
        f"{site.base}/articles/en-03.html", f"{site.base}/wire/rover.html")
    site.route("/wire/rover.html", Reply(body=copy.encode(),
                                         headers={"Content-Type": "text/html"}))
    wire = ('<rss version="2.0"><channel><title>Wire</title><item><title>Rover date</title>'
            f'<link>{site.url("/wire/rover.html")}</link><pubDate>Wed, 18 Nov 2026 09:00:00 GMT'
            '</pubDate></item></channel></rss>')
    site.route("/wire.xml", Reply(body=wire.encode(), headers={"Content-Type": "text/xml"}))
    sources = news_sources(site, ["en-rss2.xml"]) + [
        {"id": "wire", "name": "Pacific Wire", "url": site.url("/wire.xml")}]
    write_config(tmp_path, sources, extra=SLACK.replace("alert_max_age_hours = 120",
                                                        "alert_max_age_hours = 1000"), database=database_url)
    assert main(["--config", str(config), "run", "--once"], now=lambda: later) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert query(config, "SELECT kind, status FROM deliveries d JOIN articles a ON "
                         "a.id = d.article_id WHERE a.url = ? AND d.channel = 'C0ALERTS'",
                 site.url("/wire/rover.html")) == [("alert_member", "rolled")]
    assert not any(en03["title"] in json.dumps(p["blocks"]) for p in slack.posts("C0ALERTS"))
    assert query(config, "SELECT count(*) FROM deliveries WHERE kind = 'alert_reply'") == [(0,)]
    assert slack.refused() == [("chat.postMessage", "not_in_channel")]  # the first run's only


def test_two_posters_at_once_post_each_message_once(site, tmp_path, slack, token, monkeypatch, database_url):
    """The daemon's delivery and a /techwatch digest in another thread (or process) take turns."""
    import threading

    from bot.app import load_app
    from bot.notify.service import deliver

    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), extra=SLACK, database=database_url)
    assert subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "poll"],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          timeout=120).returncode == 0
    for _ in range(3):
        slack.script["chat.postMessage"].append(("store_then_hang", 0.3))  # slow posts
    apps = [load_app(str(config), os.environ, now=lambda: FIXED_NOW) for _ in range(2)]
    threads = [threading.Thread(target=deliver, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for a in apps:
        a.close()
    keys = [p["metadata"]["event_payload"]["delivery"] for p in slack.posts()]
    assert len(keys) >= 5 and len(keys) == len(set(keys))


def test_digests_asked_for_at_once_keep_slacks_pace_together(site, tmp_path, cli, slack, token, database_url):
    """Each request posts with a poster of its own; the channel's pace (a message a second) is
    kept across them, so the second digest is not limited for coming right after the first."""
    from bot.app import load_app
    from bot.notify.service import deliver

    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), extra=SLACK, database=database_url)
    assert cli("--config", str(config), "poll")[0] == 0
    slack.min_gap = 1.0
    for minute in (0, 1):  # two requests, a minute apart by the clock (not by the posts)
        app = load_app(str(config), os.environ,
                       now=lambda m=minute: FIXED_NOW + timedelta(minutes=m))
        deliver(app, alerts=False, scheduled=False, channels=("C0DIGEST",), always=True)
        app.close()
    assert len(slack.posts("C0DIGEST")) >= 2 and slack.too_soon == []


def test_a_long_digest_asked_for_without_a_valid_token_is_dropped_whole(tmp_path, cli, slack,
                                                                        token, monkeypatch, database_url):
    """Its thread parts go with its first message: nothing of it is left "pending"."""
    config = write_config(tmp_path, [], extra=SLACK, database=database_url)
    archive_60_stories(config)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-the-token-1234")
    code, _, err = cli("--config", str(config), "digest", "--channel", "C0DIGEST")
    assert code == 1 and "invalid_auth" in err
    parts = query(config, "SELECT key, status FROM deliveries WHERE key LIKE '%:manual:%'")
    assert len(parts) >= 2 and {status for _, status in parts} == {"failed"}, parts
    assert not slack.posts()


def test_slack_out_of_reach_is_our_one_line_and_its_messages_wait(site, tmp_path, cli, slack,
                                                                   token, monkeypatch, database_url):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), extra=SLACK, database=database_url)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")  # nothing listens there
    code, _, err = cli("--config", str(config), "run", "--once")
    assert code == 0, err
    assert "Failed to send a request" not in err  # the library's own ERROR line, unasked
    assert "slack" in err.lower()  # ours says it
    waiting = query(config, "SELECT count(*) FROM deliveries WHERE status = 'pending'")[0][0]
    assert waiting >= 2 and slack.posts() == []
    monkeypatch.setenv("SLACK_API_URL", slack.url)
    code, _, err = cli("--config", str(config), "run", "--once")
    assert code == 0, err
    assert len(slack.posts()) == waiting  # each once, when Slack is back
    assert query(config, "SELECT count(*) FROM deliveries WHERE status != 'sent'")[0][0] == 0


def test_a_digest_asked_for_with_a_refused_token_is_one_line_saying_it_is_dropped(
        tmp_path, cli, slack, monkeypatch, database_url):
    config = write_config(tmp_path, [], extra=SLACK, database=database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-the-token-1234")
    code, _, err = cli("--config", str(config), "digest", "--channel", "C0DIGEST", "--always")
    lines = [line for line in err.splitlines() if "invalid_auth" in line]
    assert len(lines) == 1 and "messages wait" not in lines[0], err
    assert "(the digest asked for is dropped)" in lines[0] and ":manual:" not in lines[0]
    assert slack.posts() == []
