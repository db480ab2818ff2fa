"""A Slack Web API stand-in on 127.0.0.1 that behaves like Slack where it matters: the token,
ok:false errors, Block Kit limits (invalid_blocks, msg_blocks_too_long), 429 with Retry-After,
threads, and message metadata stored and returned by conversations.history/replies."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

TOKEN = "xoxb-test-token"


def block_problem(blocks: list[dict], text: str | None) -> str | None:
    """Slack's answer to a message it would refuse, or None."""
    if not blocks:
        return None if text else "no_text"
    if len(blocks) > 50:
        return "invalid_blocks"
    total = 0
    for block in blocks:
        if block["type"] == "header":
            length = len(block["text"]["text"])
            if length > 150 or block["text"]["type"] != "plain_text":
                return "invalid_blocks"
        elif block["type"] == "section":
            length = len(block["text"]["text"])
            if length > 3000:
                return "invalid_blocks"
        elif block["type"] == "context":
            if len(block["elements"]) > 10:
                return "invalid_blocks"
            length = sum(len(e.get("text", "")) for e in block["elements"])
        elif block["type"] == "divider":
            length = 0
        else:
            return "invalid_blocks"
        total += length
    if total > 11_000:
        return "msg_blocks_too_long"
    return None


class SlackStub:
    def __init__(self, channels=("C0DIGEST", "C0ALERTS"), not_in=()) -> None:
        self.channels = set(channels)
        self.not_in = set(not_in)
        self.messages: dict[str, list[dict]] = defaultdict(list)
        self.calls: list[tuple[str, dict]] = []
        self.responses: list[tuple[str, dict]] = []
        self.script: dict[str, list[tuple]] = defaultdict(list)
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def posts(self, channel: str | None = None) -> list[dict]:
        return [m for c, ms in self.messages.items() for m in ms if channel in (None, c)]

    def refused(self) -> list[tuple[str, str]]:
        """Every call Slack answered with ok:false: (method, error)."""
        return [(m, b.get("error", "")) for m, b in self.responses if not b.get("ok")]

    def calls_to(self, method: str) -> list[dict]:
        return [p for m, p in self.calls if m == method]

    # --- the API ----------------------------------------------------------------------

    def handle(self, method: str, params: dict, auth: str) -> tuple[int, dict, dict]:
        self.calls.append((method, params))
        if auth != f"Bearer {TOKEN}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        scripted = self.script[method].pop(0) if self.script[method] else None
        if scripted and scripted[0] == "error":
            return 200, {}, {"ok": False, "error": scripted[1]}
        if scripted and scripted[0] == "500":
            return 500, {}, {"ok": False, "error": "internal_error"}
        if scripted and scripted[0] == "429":
            return 429, {"Retry-After": str(scripted[1])}, {"ok": False, "error": "ratelimited"}
        if method == "chat.postMessage":
            status, body = self._post(params)
            if scripted and scripted[0] == "store_then_500" and body.get("ok"):
                return 500, {}, {"ok": False, "error": "internal_error"}
            if scripted and scripted[0] == "store_then_hang" and body.get("ok"):
                time.sleep(scripted[1])
            return status, {}, body
        if method in ("conversations.history", "conversations.replies"):
            return 200, {}, self._history(method, params)
        if method == "auth.test":
            return 200, {}, {"ok": True, "user_id": "U0BOT", "team": "T"}
        return 200, {}, {"ok": False, "error": "unknown_method"}

    def _post(self, p: dict) -> tuple[int, dict]:
        channel = p.get("channel")
        if channel not in self.channels:
            return 200, {"ok": False, "error": "channel_not_found"}
        if channel in self.not_in:
            return 200, {"ok": False, "error": "not_in_channel"}
        blocks = p.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        problem = block_problem(blocks, p.get("text"))
        if problem:
            return 200, {"ok": False, "error": problem}
        thread_ts = p.get("thread_ts")
        if thread_ts and not any(m["ts"] == thread_ts for m in self.messages[channel]):
            return 200, {"ok": False, "error": "thread_not_found"}
        metadata = p.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        with self._lock:
            message = {"ts": f"{time.time():.0f}.{next(self._ts):06d}", "text": p.get("text"),
                       "blocks": blocks, "metadata": metadata, "thread_ts": thread_ts,
                       "unfurl_links": p.get("unfurl_links")}
            self.messages[channel].append(message)
        return 200, {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _history(self, method: str, p: dict) -> dict:
        channel = p.get("channel")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        with_metadata = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
        oldest = float(p.get("oldest") or 0)
        if method == "conversations.history":
            found = [m for m in self.messages[channel]
                     if not m["thread_ts"] and float(m["ts"]) >= oldest]
        else:
            found = [m for m in self.messages[channel]
                     if m["ts"] == p.get("ts") or m["thread_ts"] == p.get("ts")]
        shown = [{k: v for k, v in m.items() if k != "metadata" or with_metadata}
                 for m in reversed(found)]
        return {"ok": True, "messages": shown, "has_more": False}

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _serve(self) -> None:
                url = urlsplit(self.path)
                method = url.path.rsplit("/", 1)[-1]
                params = dict(parse_qsl(url.query))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if raw:
                    if "json" in (self.headers.get("Content-Type") or ""):
                        params.update(json.loads(raw))
                    else:
                        params.update(dict(parse_qsl(raw.decode())))
                status, headers, body = stub.handle(method, params,
                                                    self.headers.get("Authorization", ""))
                stub.responses.append((method, body))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            do_GET = do_POST = _serve  # noqa: N815

        return Handler
