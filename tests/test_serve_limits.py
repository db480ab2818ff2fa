"""The bot's listening ports against hostile clients: `techwatch serve` in a process of its own
refusing a 200 MB body unread and answering Slack while 200 connections sit half-open; the
/healthz server (same mechanism) cutting clients that stall or trickle bytes."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from conftest import ROOT, write_config
from slackstub import TOKEN

from bot import wsgiserver
from bot.health import Health, Metrics, serve

SECRET = "limits-test-signing-secret"
BODY_MB = 200


def signed_post(url: str, body: str) -> httpx.Response:
    """A request signed as Slack signs it."""
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(),
                                 hashlib.sha256).hexdigest()
    return httpx.post(url, content=body, timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature})


def help_command(padding: int = 0) -> str:
    fields = {"command": "/techwatch", "text": "help", "user_id": "U1", "channel_id": "C1",
              "team_id": "T1", "response_url": "http://127.0.0.1:1/x"}
    return urlencode({**fields, **({"padding": "a" * padding} if padding else {})})


class Served:
    """`techwatch serve` in a subprocess, answering on 127.0.0.1:port."""

    def __init__(self, config: Path, api_url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/slack/events"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": TOKEN,
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "serve", "--host", "127.0.0.1",
             "--port", str(self.port)], env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                assert signed_post(self.url, help_command()).status_code == 200
                return
            except httpx.ConnectError:
                assert time.monotonic() < deadline and self.process.poll() is None, "not serving"
                time.sleep(0.2)

    def peak_rss(self) -> int:
        """The process's peak resident memory so far (VmHWM), in bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=15)
        return err


@pytest.fixture
def served(tmp_path, slack) -> Iterator[Served]:
    server = Served(write_config(tmp_path, []), slack.url)
    yield server
    err = server.stop()
    assert server.process.returncode == 0 and "Traceback" not in err, err


def send_huge_body(port: int, *, chunked: bool) -> tuple[int, bytes]:
    """(bytes of body sent before the server cut us off, what it answered) for a BODY_MB body
    with a fresh timestamp and a bad signature, streamed in 1 MiB pieces."""
    size = BODY_MB << 20
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = (f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{framing}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0=00\r\n\r\n")
    piece = b"a" * (1 << 20)
    if chunked:
        piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        try:
            conn.sendall(head.encode())
            while sent < size:
                conn.sendall(piece)
                sent += 1 << 20
            if chunked:
                conn.sendall(b"0\r\n\r\n")
        except OSError:  # cut off: the answer may still be waiting to be read
            pass
        try:
            answer = conn.recv(200)
        except OSError:  # reset before the answer could be read
            answer = b""
    return sent, answer


def test_an_oversized_body_is_refused_unread_and_memory_stays_flat(served):
    before = served.peak_rss()
    for chunked in (False, True):
        sent, answer = send_huge_body(served.port, chunked=chunked)
        assert sent < BODY_MB << 20, f"the server read all {BODY_MB} MB (chunked={chunked})"
        assert answer == b"" or answer.startswith(b"HTTP/1.1 413 "), answer
    growth = served.peak_rss() - before
    assert growth < 50 << 20, f"peak memory grew by {growth >> 20} MB"
    # a large but plausible payload (kept on disk past 64 KB) still reaches Bolt
    assert signed_post(served.url, help_command(padding=600_000)).status_code == 200


def open_idle(port: int, count: int, head: bytes, seconds: float = 3.0) -> list[socket.socket]:
    """`count` connections that send `head` (no complete request) and then nothing, opened
    within `seconds` all told (~0.1 s here): a server that cannot take them fails this."""
    conns: list[socket.socket] = []
    deadline = time.monotonic() + seconds
    try:
        while len(conns) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            conns.append(socket.create_connection(("127.0.0.1", port), timeout=remaining))
            conns[-1].sendall(head)
    except OSError:
        for conn in conns:
            conn.close()
        pytest.fail(f"the server took {len(conns)} of {count} connections in {seconds} s")
    return conns


PARTIAL = b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slack-Request-Timestamp: 1"
NO_BODY = b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"


@pytest.mark.alone
def test_slack_is_answered_while_200_connections_sit_half_open(served):
    started = time.monotonic()
    conns = open_idle(served.port, 150, PARTIAL) + open_idle(served.port, 50, NO_BODY)
    try:
        assert signed_post(served.url, help_command()).status_code == 200
        # within Slack's deadline for the acknowledgement, counted from the attack's start:
        # a server slow to take the connections (a thread each) makes Slack wait behind them
        assert time.monotonic() - started < 3
    finally:
        for conn in conns:
            conn.close()


@pytest.fixture
def health_port() -> Iterator[int]:
    server = serve(Health(60), Metrics(), "127.0.0.1", 0)
    yield server.server_address[1]
    server.shutdown()


def test_healthz_answers_while_200_connections_sit_half_open(health_port):
    conns = open_idle(health_port, 200, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        answer = httpx.get(f"http://127.0.0.1:{health_port}/healthz", timeout=5)
        assert (answer.status_code, answer.text) == (200, "ok\n")
    finally:
        for conn in conns:
            conn.close()


def closed_within(conn: socket.socket, seconds: float, trickle: bytes = b"") -> float | None:
    """Seconds until the server closed `conn` (None if it did not within `seconds`), sending it
    one byte of `trickle` every 0.5 s meanwhile."""
    started = time.monotonic()
    conn.settimeout(0.5)
    while time.monotonic() - started < seconds:
        try:
            if conn.recv(100) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except OSError:  # reset
            return time.monotonic() - started
        if trickle:
            try:
                conn.sendall(trickle[:1])
            except OSError:
                return time.monotonic() - started
            trickle = trickle[1:]
    return None


def test_a_client_that_stalls_or_trickles_its_request_is_cut(monkeypatch):
    monkeypatch.setattr(wsgiserver, "IDLE_SECONDS", 2)
    monkeypatch.setattr(wsgiserver, "REQUEST_SECONDS", 3.0)
    server = serve(Health(60), Metrics(), "127.0.0.1", 0)
    port = server.server_address[1]
    conns: list[socket.socket] = []
    try:
        conns += open_idle(port, 1, b"")  # connects, then says nothing
        assert closed_within(conns[-1], 10) is not None, "a silent connection was never closed"
        # a byte every 0.5 s is never idle for 2 s: only the request deadline cuts it
        conns += open_idle(port, 1, b"GET /healthz HTTP/1.1\r\n")
        cut = closed_within(conns[-1], 12, trickle=b"X-Padding: " + b"a" * 100)
        assert cut is not None, "a request trickled a byte at a time was never cut"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        for conn in conns:
            conn.close()
        server.shutdown()


def test_a_port_out_of_range_is_refused_rather_than_wrapped_round():
    for port in (70000, -1):
        with pytest.raises(OSError, match="a port is 0 to 65535"):
            serve(Health(60), Metrics(), "127.0.0.1", port)
