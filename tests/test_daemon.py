"""`techwatch run` as a service: it polls on start and stops cleanly on SIGTERM."""

import dataclasses
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import ROOT, write_config
from livesite import LiveFeed, LiveNews, free_port, live_config
from newsite import MANIFEST, news_sources, query, serve_news_site
from slackstub import TOKEN, SlackStub

SECRET = "daemon-signing-secret-0123456789"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_run_polls_then_stops_on_sigterm(site, tmp_path, sig):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]))
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "run"],
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _cycle_done(config):
        time.sleep(0.2)
    process.send_signal(sig)
    started = time.monotonic()
    _, err = process.communicate(timeout=15)
    assert time.monotonic() - started < 8  # within 5 s alone; margin for a loaded machine
    assert process.returncode == 0, err
    assert "techwatch stopped" in err and "Traceback" not in err
    rss = [a for a in MANIFEST["articles"] if a["name"] in ("en-01", "en-02", "paywall")]
    titles = {r[0] for r in query(config, "SELECT title FROM articles")}
    assert {a["title"] for a in rss} <= titles


# alone: on a busy machine Ctrl-C sometimes goes unanswered (the run goes on to its end, exit 0;
# seen beside a parallel run, and once alone beside other work): reported, to be fixed in bot
@pytest.mark.alone
@pytest.mark.parametrize("stop", ["sigterm", "ctrl-c", "hangup", "kill-9"])
def test_a_one_shot_run_stopped_midway_exits_cleanly_and_leaves_no_process(site, tmp_path, stop):
    serve_news_site(site)
    slow = sorted(p for p in site.routes if p.startswith("/articles/"))[1:]
    for path in slow:  # one page is extracted at once (the workers start), the rest hang
        site.route(path, dataclasses.replace(site.routes[path], delay=20))
    config = write_config(tmp_path, news_sources(site))
    config.write_text(config.read_text().replace("timeout_seconds = 3", "timeout_seconds = 60")
                      .replace("per_host_concurrency = 4", "per_host_concurrency = 16"))
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "run",
                                "--once"], env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not query_or_zero(
            config, "SELECT count(*) FROM articles WHERE state = 'done' AND source_id != 'seed'"):
        time.sleep(0.2)
    time.sleep(0.5)
    if stop == "sigterm":
        process.send_signal(signal.SIGTERM)  # a supervisor stops the command
    elif stop == "kill-9":
        process.send_signal(signal.SIGKILL)  # nothing of techwatch's own runs after this
    elif stop == "hangup":
        os.killpg(process.pid, signal.SIGHUP)  # the terminal closed: the whole process group
    else:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole process group
    _, err = process.communicate(timeout=30)
    expected = {"sigterm": (143, "terminated"), "ctrl-c": (130, "interrupted"),
                "hangup": (143, "terminated"), "kill-9": (-9, "")}[stop]
    assert process.returncode == expected[0] and expected[1] in err, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    # (after kill -9 only, multiprocessing's resource tracker says it cleaned up our semaphores)
    assert stop == "kill-9" or "Warning" not in err, err
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # the extraction workers and their server are gone too
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("processes of the stopped run are still running")


def query_or_zero(config, sql: str) -> int:
    try:
        return query(config, sql)[0][0]
    except Exception:  # noqa: BLE001 -- not created yet
        return 0


def _cycle_done(config) -> bool:
    try:
        return query(config, "SELECT count(*) FROM articles WHERE state = 'done' AND "
                             "source_id != 'seed'")[0][0] >= 7
    except Exception:  # noqa: BLE001 -- not created yet
        return False


def test_a_second_writer_on_the_same_archive_is_refused(site, tmp_path, cli):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]))
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "run"],
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _cycle_done(config):
            time.sleep(0.2)
        code, _, err = cli("--config", str(config), "poll")
        assert code == 1 and "is in use by techwatch" in err and str(process.pid) in err
        assert cli("--config", str(config), "status")[0] == 0  # readers are welcome
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert cli("--config", str(config), "poll")[0] == 0  # free again


# --- the service over time: schedule, cron digest, SIGTERM mid-cycle, restart -----------------

def start_daemon(config: Path, slack: SlackStub, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": TOKEN,
           "SLACK_API_URL": slack.url, "SLACK_SIGNING_SECRET": SECRET}
    return subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), *extra, "run"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> tuple[float, str]:
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _, err = process.communicate(timeout=20)
    return time.monotonic() - started, err


def get(port: int, path: str) -> tuple[int, str]:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
    except httpx.HTTPError:
        return 0, ""
    return response.status_code, response.text


def metric(text: str, name: str, **labels: str) -> float | None:
    """The sample of `name` with these labels (and any others: every sample has `worker`)."""
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        found, _, rest = sample.partition("{")
        if found == name and all(w in rest.rstrip("}").split(",") for w in wanted):
            return float(value)
    return None


@pytest.mark.slow
def test_daemon_keeps_schedule_posts_digest_on_time_and_survives_sigterm_and_restart(site,
                                                                                      tmp_path):
    slack = SlackStub(channels=("C0DIGEST", "C0ALERTS", "C0OPS"))
    live = LiveNews(site, [LiveFeed("fast", 6), LiveFeed("slow", 40), LiveFeed("static", 0),
                           LiveFeed("flaky", 30, fail_polls=2)])
    port, events_port = free_port(), free_port()
    digest_at = datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(seconds=25)
    config = live_config(tmp_path, live, health_port=port, digest_at=f"{digest_at:%H:%M:%S}",
                         poll=(0.1, 0.1, 1, 1), events_port=events_port, retry_minutes=0.1)
    try:
        process = start_daemon(config, slack, "--log-format", "json")
        wait_for(lambda: get(port, "/healthz")[0] == 200, 30, "/healthz")
        # the digest comes at its cron time in Tokyo, not before
        wait_for(lambda: slack.posts("C0DIGEST"), 60, "the digest")
        assert datetime.now(UTC) >= digest_at - timedelta(seconds=1)
        wait_for(lambda: live.feeds["flaky"].polls >= 3, 30, "the failing source to recover")
        code, metrics = get(port, "/metrics")
        assert code == 200 and metric(metrics, "techwatch_polls_total", outcome="ok") >= 3
        assert re.search(r'techwatch_polls_total\{[^}]*worker="[^"]+:\d+:[0-9a-f]+"', metrics)
        assert metric(metrics, "techwatch_source_next_poll_timestamp_seconds", source="fast")
        # a cycle in flight (a page that takes 30 s) is interrupted by SIGTERM
        live.page_delay = 30
        slow_from = len(site.requests)
        wait_for(lambda: any("/live/" in r.path and r.path.endswith(".html")
                             for r in site.requests[slow_from:]), 30, "a slow page request")
        seconds, err = stop(process)
        assert seconds < 8 and process.returncode == 0 and "Traceback" not in err, err
        lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert lines and all({"time", "level", "message"} <= set(x) for x in lines)
        assert any(x.get("source") == "flaky" for x in lines)  # lines name their source
        assert TOKEN not in err and SECRET not in err
        polls = {name: feed.polls for name, feed in live.feeds.items()}
        # each source at its own pace: every ~6 s (the minimum), ~20 s, ~1 min (the maximum)
        assert polls["fast"] >= 4 and polls["fast"] > polls["slow"] > polls["static"], polls

        live.page_delay = 0
        stopped_at = time.time()
        process = start_daemon(config, slack)
        expected = live.article_urls(stopped_at)
        # a page that timed out during the shutdown's grace is retried after its 6 s
        # (fetch.article_retry_minutes = 0.1: the default minute would be most of this test)
        wait_for(lambda: expected <= done_urls(config), 120, "every article archived")
        wait_for(lambda: stories_of(config, alerted(slack)) >=
                 stories_of(config, expected & relevant_urls(config)), 30, "the alerts")
        assert get(port, "/healthz")[0] == 200
        # the Slack app runs beside the scheduler: a signed /techwatch status is answered
        body = "command=%2Ftechwatch&text=status&user_id=U1&channel_id=C0ALERTS"
        stamp = str(int(time.time()))
        signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(),
                                     hashlib.sha256).hexdigest()
        answer = httpx.post(f"http://127.0.0.1:{events_port}/slack/events", content=body,
                            timeout=5, headers={"X-Slack-Request-Timestamp": stamp,
                                                "X-Slack-Signature": signature,
                                                "Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 200 and "last poll" in answer.text
        check = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "health"],
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                               text=True, timeout=30)
        assert check.returncode == 0 and "200 ok" in check.stdout, check.stderr
        seconds, err = stop(process)
        assert seconds < 8 and process.returncode == 0 and "Traceback" not in err, err
    finally:
        if process.poll() is None:
            process.kill()
        slack.stop()
    urls = [u for post in slack.posts("C0ALERTS") if not post.get("thread_ts")
            for u in post_urls(post)]
    roots = [stories_of(config, {u}).pop() for u in urls]
    assert len(roots) == len(set(roots)), "a story was alerted twice"
    assert stories_of(config, relevant_urls(config) & expected) <= set(roots), \
        "a story was never alerted"
    parents = [p for p in slack.posts("C0DIGEST") if not p.get("thread_ts")]
    assert len(parents) == 1, "the digest was posted twice (or not at all)"
    ops = [p["text"] for p in slack.posts("C0OPS")]
    assert len(ops) == 2 and "flaky" in ops[0] and "failing" in ops[0] and "recovered" in ops[1]
    assert slack.refused() == []
    check = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "health"],
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 1 and "no answer" in check.stderr  # the daemon has stopped


def done_urls(config: Path) -> set[str]:
    try:
        return {r[0] for r in query(config, "SELECT url FROM articles WHERE state = 'done'")}
    except Exception:  # noqa: BLE001 -- not created yet
        return set()


def relevant_urls(config: Path) -> set[str]:
    return {r[0] for r in query(config, "SELECT url FROM articles WHERE relevant = 1")}


def stories_of(config: Path, urls: set[str]) -> set[int]:
    """The stories of these articles (reports of one event are one story, alerted once)."""
    rows = query(config, "SELECT url, coalesce(story_id, id) FROM articles")
    return {story for url, story in rows if url in urls}


def post_urls(post: dict) -> list[str]:
    return re.findall(r"<(http://[^|>]+/live/[^|>]+\.html)\|", json.dumps(post.get("blocks")))


def alerted(slack: SlackStub) -> set[str]:
    return {u for post in slack.posts("C0ALERTS") for u in post_urls(post)}


@pytest.mark.slow
def test_a_slow_slack_does_not_hold_up_polling(site, tmp_path):
    """Slack answering 429 with a Retry-After of 9 s (waited out, then tried once more) keeps a
    delivery busy for half a minute; the sources are polled at their pace meanwhile."""
    slack = SlackStub(channels=("C0DIGEST", "C0ALERTS", "C0OPS"))
    live = LiveNews(site, [LiveFeed("fast", 2)])
    config = live_config(tmp_path, live, health_port=0, digest_at="03:00:00",
                         poll=(0.03, 0.02, 1, 1))
    process = start_daemon(config, slack)
    try:
        wait_for(lambda: slack.posts("C0ALERTS"), 60, "the first alert")
        slack.script["chat.postMessage"] = [("429", 9)] * 4
        wait_for(lambda: len(slack.script["chat.postMessage"]) < 4, 30, "a rate-limited post")
        polls, started = live.feeds["fast"].polls, time.monotonic()
        wait_for(lambda: not slack.script["chat.postMessage"], 60, "Slack to take posts again")
        slow = time.monotonic() - started
        polled = live.feeds["fast"].polls - polls
        wait_for(lambda: len(slack.posts("C0ALERTS")) >= 2, 60, "the held alerts")
        seconds, err = stop(process)
        assert process.returncode == 0 and "Traceback" not in err, err
    finally:
        if process.poll() is None:
            process.kill()
        slack.stop()
    # about one poll every 1.2 s; a delivery inside the cycle allowed one per 9 s at most
    assert slow >= 15 and polled >= slow / 3, (slow, polled)
