"""Liveness apart from readiness: /healthz says the process works, /readyz that it does its job
(the last cycle reached a source, Slack accepts the token), both in /metrics; for `techwatch run`
and `techwatch serve`, on real servers (the daemon in a process of its own, sources on
127.0.0.1, the Slack stand-in)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT, write_config
from livesite import free_port
from newsite import news_sources, serve_news_site
from sitesrv import Reply
from slackstub import TOKEN, SlackStub
from test_daemon import get

from bot.health import Health
from bot.pipeline import CycleReport

SECRET = "readiness-signing-secret-0123456789"


# --- the verdicts, from what a cycle reports ---------------------------------------------------

def test_a_cycle_in_which_every_source_failed_dns_is_not_ready_but_alive():
    health = Health(60)
    health.cycle_done(CycleReport(polled=36, failed=36, errors=Counter(dns=30, connect=6)))
    assert health.verdict() == (True, "ok")
    assert health.readiness() == (False, "0 of 36 sources reached in the last cycle")


def test_an_http_error_status_reached_the_source_and_a_cycle_with_nothing_due_changes_nothing():
    health = Health(60)
    assert health.readiness() == (False, "no source polled yet")
    health.cycle_done(CycleReport(polled=3, failed=2, errors=Counter(http=1, timeout=1)))
    assert health.readiness() == (True, "2 of 3 sources reached in the last cycle")
    health.cycle_done(CycleReport(polled=0))  # nothing was due
    assert health.readiness() == (True, "2 of 3 sources reached in the last cycle")
    health.cycle_done(CycleReport(polled=1, failed=1, errors=Counter(protocol=1)))
    assert health.readiness()[0] is False


def test_before_the_first_polling_cycle_the_sources_last_polls_decide():
    health = Health(60)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [SimpleNamespace(last_polled_at=at, last_status="error: dns"),
            SimpleNamespace(last_polled_at=at, last_status="not_modified"),
            SimpleNamespace(last_polled_at=None, last_status="never polled")]
    health.sources_seen(rows)
    assert health.readiness() == (True, "1 of 2 sources reached at their last poll")
    health.cycle_done(CycleReport(polled=1, failed=1, errors=Counter(connect=1)))
    health.sources_seen(rows)  # a cycle's word wins from then on
    assert health.readiness() == (False, "0 of 1 sources reached in the last cycle")


# --- the daemon --------------------------------------------------------------------------------

def start(command: list[str], config: Path, **env: str) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TECHWATCH_"))}
    return subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), *command],
                            env={**clean, "PYTHONPATH": str(ROOT), **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def stopped_within(process: subprocess.Popen, seconds: float) -> str:
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _, err = process.communicate(timeout=20)
    assert time.monotonic() - started < seconds, err
    assert process.returncode == 0 and "Traceback" not in err, err
    return err


def sample(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{"):
            return float(line.rpartition(" ")[2])
    return None


def health_command(port: int, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TECHWATCH_HEALTH_PORT": str(port)}
    return subprocess.run([sys.executable, "-m", "bot", "health", *args], env=env,
                          capture_output=True, text=True, timeout=30)


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}/feed.xml"  # nothing listens: connection refused


def test_a_daemon_that_reaches_no_source_is_alive_but_not_ready(tmp_path):
    port = free_port()
    config = write_config(tmp_path, [{"id": f"down{i}", "name": f"Down {i}", "url": closed_url()}
                                     for i in range(2)], extra=f"[health]\nport = {port}\n")
    process = start(["run"], config)
    try:
        wait_for(lambda: "in the last cycle" in get(port, "/readyz")[1], 60, "a cycle")
        code, text = get(port, "/readyz")
        assert code == 503 and text.startswith("0 of 2 sources reached in the last cycle\n")
        assert get(port, "/healthz")[0] == 200
        metrics = get(port, "/metrics")[1]
        assert sample(metrics, "techwatch_live") == 1 and sample(metrics, "techwatch_ready") == 0
        live, ready = health_command(port), health_command(port, "--ready")
        assert live.returncode == 0 and "/healthz: 200 ok" in live.stdout
        assert ready.returncode == 1 and "/readyz: 503 0 of 2 sources reached" in ready.stdout
    finally:
        stopped_within(process, 5)  # well inside `docker stop`'s 10 s


def test_a_source_answering_an_error_status_was_reached_and_slack_accepts_the_token(site,
                                                                                   tmp_path):
    site.route("/feeds/broken.xml", Reply(500, b"internal error"))
    slack = SlackStub()
    port = free_port()
    config = write_config(tmp_path, [{"id": "down", "name": "Down", "url": closed_url()},
                                     {"id": "broken", "name": "Broken",
                                      "url": site.url("/feeds/broken.xml")}],
                          extra=f"[health]\nport = {port}\n")
    process = start(["run"], config, SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=slack.url)
    try:
        wait_for(lambda: get(port, "/readyz")[0] == 200, 60, "readiness")
        assert get(port, "/readyz")[1].startswith(
            "1 of 2 sources reached in the last cycle; Slack token accepted\n")
        assert slack.calls_to("auth.test")
        assert sample(get(port, "/metrics")[1], "techwatch_ready") == 1
    finally:
        stopped_within(process, 5)
        slack.stop()


def test_a_token_slack_refuses_makes_the_daemon_not_ready(site, tmp_path):
    site.route("/feeds/broken.xml", Reply(503, b"down for maintenance"))
    slack = SlackStub()
    port = free_port()
    config = write_config(tmp_path, [{"id": "broken", "name": "Broken",
                                      "url": site.url("/feeds/broken.xml")}],
                          extra=f"[health]\nport = {port}\n")
    wrong = "xoxb-revoked-0000"
    process = start(["run"], config, SLACK_BOT_TOKEN=wrong, SLACK_API_URL=slack.url)
    try:
        wait_for(lambda: "Slack refuses" in get(port, "/readyz")[1], 60, "the token's verdict")
        code, text = get(port, "/readyz")
        assert code == 503 and text.startswith(
            "1 of 1 sources reached in the last cycle; Slack refuses SLACK_BOT_TOKEN "
            "(invalid_auth)\n") and wrong not in text
        assert get(port, "/healthz")[0] == 200  # alive: a restart would not help
    finally:
        stopped_within(process, 5)
        slack.stop()


# --- `techwatch serve` ---------------------------------------------------------------------------

@pytest.mark.parametrize("slack_up", [True, False], ids=["checked", "slack-down"])
def test_serve_answers_healthz_and_readyz_so_the_image_check_fits_it(tmp_path, slack_up):
    slack = SlackStub()
    port, events = free_port(), free_port()
    api = slack.url if slack_up else f"http://127.0.0.1:{free_port()}/api/"
    process = start(["serve", "--host", "127.0.0.1", "--port", str(events)],
                    write_config(tmp_path, []), SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=api,
                    SLACK_SIGNING_SECRET=SECRET, TECHWATCH_HEALTH_PORT=str(port))
    try:
        wait_for(lambda: get(port, "/healthz")[0] == 200, 30, "serve's /healthz")
        assert health_command(port).returncode == 0  # the image's HEALTHCHECK
        code, text = get(port, "/readyz")
        metrics = get(port, "/metrics")[1]
        assert sample(metrics, "techwatch_live") == 1
        if slack_up:
            assert (code, text) == (200, "Slack token accepted\n")
            assert sample(metrics, "techwatch_ready") == 1
        else:  # Slack out of reach at start: serving, not ready until Slack answers
            assert code == 503 and "Slack has not answered" in text
            assert sample(metrics, "techwatch_ready") == 0
        assert get(events, "/slack/events")[0] == 401  # the Slack endpoint, on its own port
    finally:
        stopped_within(process, 5)
        slack.stop()


# --- SIGTERM, as `docker stop` sends it --------------------------------------------------------

@pytest.mark.alone  # measures time
def test_sigterm_in_the_middle_of_a_cycle_stops_within_five_seconds(site, tmp_path):
    serve_news_site(site)
    for path in [p for p in site.routes if p.startswith("/articles/")]:  # every page hangs
        site.route(path, dataclasses.replace(site.routes[path], delay=30))
    config = write_config(tmp_path, news_sources(site))
    config.write_text(config.read_text().replace("timeout_seconds = 3", "timeout_seconds = 60"))
    process = start(["run"], config)
    wait_for(lambda: any(r.path.startswith("/articles/") for r in site.requests), 60,
             "a page request")
    time.sleep(1)  # the cycle is in flight, its extraction workers started
    err = stopped_within(process, 5)  # measured: 3.2 s (3 s of grace, then abandoned)
    assert "cycle interrupted by shutdown" in err and "techwatch stopped" in err
