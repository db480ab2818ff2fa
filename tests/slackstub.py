"""A Slack Web API stand-in on 127.0.0.1 that behaves like Slack where it matters: the token,
its scopes (missing_scope names the `needed` one and the `provided` ones), ok:false errors, Block
Kit limits (invalid_blocks, msg_blocks_too_long), 429 with Retry-After, threads, and message
metadata stored and returned by conversations.history/replies."""

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
APP_TOKEN = "xapp-1-test-app-token"
# the scope each method needs (Slack's method reference); history: public or private channel
METHOD_SCOPES = {"chat.postMessage": "chat:write", "chat.update": "chat:write",
                 "chat.postEphemeral": "chat:write", "files.getUploadURLExternal": "files:write",
                 "files.completeUploadExternal": "files:write"}
HISTORY = ("conversations.history", "conversations.replies")
SCOPES = ("chat:write", "files:write", "channels:history", "groups:history", "commands")


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
            if length > 3000 or len(block.get("block_id", "")) > 255:
                return "invalid_blocks"
            if "accessory" in block and element_problem(block["accessory"]):
                return "invalid_blocks"
        elif block["type"] == "actions":
            if not 0 < len(block["elements"]) <= 25 or any(map(element_problem,
                                                               block["elements"])):
                return "invalid_blocks"
            length = 0
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


def element_problem(element: dict) -> bool:
    """Slack's limits on the interactive elements the bot uses: overflow menus and buttons."""
    if element["type"] == "overflow":
        options = element.get("options", [])
        return not 2 <= len(options) <= 5 or any(
            len(o["value"]) > 75 or len(o["text"]["text"]) > 75 for o in options)
    if element["type"] == "button":
        return len(element["text"]["text"]) > 75 or len(element.get("value", "")) > 2000
    return True


class SlackStub:
    def __init__(self, channels=("C0DIGEST", "C0ALERTS"), not_in=(), private=()) -> None:
        self.channels = set(channels) | set(private)
        self.private = set(private)  # private channels: their history needs groups:history
        self.scopes = set(SCOPES)  # the bot token's scopes: remove one to see missing_scope
        self.not_in = set(not_in)
        self.messages: dict[str, list[dict]] = defaultdict(list)
        self.calls: list[tuple[str, dict]] = []
        self.responses: list[tuple[str, dict]] = []
        self.script: dict[str, list[tuple]] = defaultdict(list)
        self.ephemeral: list[dict] = []  # chat.postEphemeral calls
        self.uploads: dict[str, bytes] = {}  # file id -> the bytes uploaded
        self.files_shared: list[dict] = []  # files.completeUploadExternal: where each went
        self.socket_url = ""  # what apps.connections.open hands out (a local WebSocket)
        self.responses_to: dict[str, list[dict]] = defaultdict(list)  # posts to a response_url
        self.min_gap = 0.0  # > 0: Slack's pace, a post this soon after the channel's last: 429
        self.too_soon: list[str] = []  # channels of posts refused for coming too soon
        self._last_taken: dict[str, float] = {}
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self.team_id = "T0TEAM"  # the bot token's workspace (auth.test)
        self.oidc_client = ("C.ID", "c-secret")  # Sign in with Slack: the app's credentials
        self.oidc_codes: dict[str, dict] = {}  # code -> the ID token's claims and redirect_uri
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = f"{self.base}/api/"
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
        if method.startswith("openid.connect."):  # the app's credentials, not the bot token
            return self._openid(method, params, auth)
        if method == "apps.connections.open":  # Socket Mode: the app-level token
            if auth != f"Bearer {APP_TOKEN}" or not self.socket_url:
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            return 200, {}, {"ok": True, "url": self.socket_url}
        if auth != f"Bearer {TOKEN}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        needed = self.needed_scope(method, params)
        if needed:
            return 200, {}, {"ok": False, "error": "missing_scope", "needed": needed,
                             "provided": ",".join(sorted(self.scopes))}
        scripted = self.script[method].pop(0) if self.script[method] else None
        if scripted and scripted[0] == "ok":  # this call as usual; the next one scripted
            scripted = None
        if scripted and scripted[0] == "error":
            return 200, {}, {"ok": False, "error": scripted[1]}
        if scripted and scripted[0] == "500":
            return 500, {}, {"ok": False, "error": "internal_error"}
        if scripted and scripted[0] == "429":
            return 429, {"Retry-After": str(scripted[1])}, {"ok": False, "error": "ratelimited"}
        if method == "chat.postMessage":
            last = self._last_taken.get(params.get("channel"))
            if self.min_gap and last is not None and time.monotonic() - last < self.min_gap:
                self.too_soon.append(params.get("channel"))
                return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
            status, body = self._post(params)
            if body.get("ok"):
                self._last_taken[params.get("channel")] = time.monotonic()
            if scripted and scripted[0] == "store_then_500" and body.get("ok"):
                return 500, {}, {"ok": False, "error": "internal_error"}
            if scripted and scripted[0] == "store_then_hang" and body.get("ok"):
                time.sleep(scripted[1])
            if scripted and scripted[0] == "store_then_cut" and body.get("ok"):
                return status, {"X-Stub-Cut": "1"}, body  # the reply breaks off mid-body
            return status, {}, body
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):06d}"
            return 200, {}, {"ok": True, "file_id": file_id,
                             "upload_url": f"{self.base}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            shared = []
            for f in files:
                if f["id"] not in self.uploads:
                    return 200, {}, {"ok": False, "error": "file_not_found"}
                shared.append({"id": f["id"], "title": f.get("title"),
                               "channel": params.get("channel_id"),
                               "thread_ts": params.get("thread_ts")})
            self.files_shared += shared
            return 200, {}, {"ok": True, "files": [{"id": f["id"], "title": f["title"]}
                                                   for f in shared]}
        if method == "chat.update":
            return 200, {}, self._update(params)
        if method == "chat.postEphemeral":
            blocks = params.get("blocks") or []
            blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
            problem = block_problem(blocks, params.get("text"))
            if problem:
                return 200, {}, {"ok": False, "error": problem}
            self.ephemeral.append(params)
            return 200, {}, {"ok": True, "message_ts": f"{time.time():.6f}"}
        if method in ("conversations.history", "conversations.replies"):
            return 200, {}, self._history(method, params)
        if method == "chat.getPermalink":
            return 200, {}, self._permalink(params)
        if method == "auth.test":
            return 200, {}, {"ok": True, "user_id": "U0BOT", "team": "T", "team_id": self.team_id}
        return 200, {}, {"ok": False, "error": "unknown_method"}

    # --- Sign in with Slack (OpenID Connect) -------------------------------------------------

    def authorize(self, asked: dict, *, user: str = "U0READER", name: str = "Reader",
                  team: str | None = None) -> str:
        """What Slack's consent page does for a reader who agrees: a one-time code for the
        authorize request's parameters (client_id, nonce, redirect_uri), for this user of
        `team` (the bot's workspace unless said)."""
        code = f"code-{next(self._ts)}"
        self.oidc_codes[code] = {"redirect_uri": asked.get("redirect_uri"), "claims": {
            "iss": self.base, "sub": user, "aud": asked.get("client_id"), "name": name,
            "nonce": asked.get("nonce"), "exp": int(time.time()) + 3600,
            "iat": int(time.time()), "https://slack.com/team_id": team or self.team_id,
            "https://slack.com/user_id": user}}
        return code

    def _openid(self, method: str, params: dict, auth: str) -> tuple[int, dict, dict]:
        """openid.connect.token as Slack answers it: the client's id and secret (HTTP basic or
        form fields), a code used once, the redirect_uri of its authorize request."""
        if method != "openid.connect.token":
            return 200, {}, {"ok": False, "error": "unknown_method"}
        client = (params.get("client_id"), params.get("client_secret"))
        if auth.startswith("Basic "):
            import base64

            client = tuple(base64.b64decode(auth[6:]).decode().split(":", 1))
        if client[0] != self.oidc_client[0]:
            return 200, {}, {"ok": False, "error": "invalid_client_id"}
        if client[1] != self.oidc_client[1]:
            return 200, {}, {"ok": False, "error": "bad_client_secret"}
        grant = self.oidc_codes.pop(params.get("code", ""), None)
        if grant is None:
            return 200, {}, {"ok": False, "error": "invalid_code"}
        if grant["redirect_uri"] != params.get("redirect_uri"):
            return 200, {}, {"ok": False, "error": "bad_redirect_uri"}

        def part(value: dict) -> str:
            import base64

            return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

        token = f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(grant['claims'])}.c2lnbmF0dXJl"
        return 200, {}, {"ok": True, "access_token": "xoxp-oidc", "token_type": "Bearer",
                         "id_token": token}

    def needed_scope(self, method: str, params: dict) -> str | None:
        """The scope this call needs and the token lacks, or None."""
        scope = METHOD_SCOPES.get(method)
        if method in HISTORY:
            scope = "groups:history" if params.get("channel") in self.private \
                else "channels:history"
        return scope if scope and scope not in self.scopes else None

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

    def _update(self, p: dict) -> dict:
        """chat.update: the channel's message `ts` reads as given (blocks, and text when given;
        metadata, when not given, is left intact), and is marked edited; a thread reply too."""
        channel = p.get("channel")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        blocks = p.get("blocks") or []
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        problem = block_problem(blocks, p.get("text"))
        if problem:
            return {"ok": False, "error": problem}
        with self._lock:
            for message in self.messages.get(channel, []):
                if message["ts"] == p.get("ts"):
                    message["blocks"] = blocks
                    if p.get("text") is not None:
                        message["text"] = p["text"]
                    message["edited"] = {"user": "U0BOT", "ts": f"{time.time():.6f}"}
                    return {"ok": True, "channel": channel, "ts": message["ts"],
                            "text": message["text"], "message": dict(message)}
        return {"ok": False, "error": "message_not_found"}

    def _permalink(self, p: dict) -> dict:
        """chat.getPermalink as Slack answers it (no scope needed): the message's link, which
        for a thread reply names its thread; channel_not_found, message_not_found."""
        channel, ts = p.get("channel"), str(p.get("message_ts") or "")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        message = next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://techwatch-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        if message["thread_ts"]:
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

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
                if url.path.startswith("/upload/"):  # step 2 of files_upload_v2
                    raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    stub.uploads[url.path.rsplit("/", 1)[-1]] = raw
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"OK")
                    return
                if url.path.startswith("/response/"):  # a command's response_url
                    raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    stub.responses_to[url.path.rsplit("/", 1)[-1]].append(json.loads(raw))
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    return
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
                cut = headers.pop("X-Stub-Cut", None)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data[:16] if cut else data)
                if cut:
                    self.close_connection = True

            do_GET = do_POST = _serve  # noqa: N815

        return Handler
