"""A real HTTP server on 127.0.0.1 for tests: routes map paths to responses, and every request is
recorded, so tests can check conditional GETs, politeness and what was fetched."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "site"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    honour_validators: bool = True  # answer 304 to a matching If-None-Match / If-Modified-Since
    drip: float = 0.0  # seconds between 1 KiB chunks of the body
    length: bool = True  # False: no Content-Length, the body ends when the connection closes


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    at: float
    status: int = 0


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Reply | Callable[[Seen], Reply]] = {}
        self.requests: list[Seen] = []
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Site:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, reply: Reply | Callable[[Seen], Reply]) -> None:
        self.routes[path] = reply

    def fixture(self, fixture: str) -> bytes:
        return (FIXTURES / fixture).read_bytes().replace(b"{BASE}", self.base.encode())

    def serve_fixture(self, path: str, fixture: str, content_type: str,
                      headers: dict[str, str] | None = None, **kw) -> None:
        headers = {"Content-Type": content_type, **(headers or {})}
        self.route(path, Reply(body=self.fixture(fixture), headers=headers, **kw))

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path.split("?")[0] == path]

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()},
                            time.monotonic())
                site.requests.append(seen)
                route = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
                reply = route(seen) if callable(route) else route
                if reply is None:
                    reply = Reply(404, b"<html><body>Not found</body></html>",
                                  {"Content-Type": "text/html"})
                if reply.delay:
                    time.sleep(reply.delay)
                reply = _conditional(reply, seen.headers)
                seen.status = reply.status
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(reply)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                headers = dict(reply.headers)
                if reply.length:
                    headers.setdefault("Content-Length", str(len(reply.body)))
                else:
                    headers["Connection"] = "close"
                    self.close_connection = True
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if not reply.drip:
                    self.wfile.write(reply.body)
                    return
                for i in range(0, len(reply.body), 1024):
                    self.wfile.write(reply.body[i:i + 1024])
                    self.wfile.flush()
                    time.sleep(reply.drip)

        return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # a client that hangs up mid-body (size caps, timeouts) is what the tests want


def _conditional(reply: Reply, headers: dict[str, str]) -> Reply:
    if not reply.honour_validators or reply.status != 200:
        return reply
    etag = reply.headers.get("ETag")
    modified = reply.headers.get("Last-Modified")
    if (etag and headers.get("if-none-match") == etag) or \
            (modified and not etag and headers.get("if-modified-since") == modified):
        return Reply(304, b"", {k: v for k, v in reply.headers.items() if k != "Content-Type"})
    return reply


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body)
