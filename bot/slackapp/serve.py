"""Where the Slack app listens: an HTTP endpoint (Bolt's /slack/events, requests verified with
the signing secret) or Socket Mode (an outgoing WebSocket: no public URL needed)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app import App
from bot.config import ENV_SLACK_APP_TOKEN, ENV_SLACK_SIGNING_SECRET, ENV_SLACK_TOKEN
from bot.errors import SettingError, TechwatchError
from bot.health import SlackToken, Verdict
from bot.notify.slack import TOKEN_ERRORS, build_client
from bot.slackapp.app import build_bolt_app
from bot.wsgiserver import Serving, serve_wsgi

log = logging.getLogger("techwatch")
EVENTS_PATH = "/slack/events"


def serve_http(app: App, host: str, port: int) -> Serving:
    """Bolt behind the bot's bounded WSGI server (bot.wsgiserver: bodies over 1 MiB refused
    unread, stalled clients cut), on a daemon thread; the caller shuts it down."""
    secret = app.env.get(ENV_SLACK_SIGNING_SECRET)
    if not secret:
        raise SettingError(f"the Slack app's HTTP endpoint needs {ENV_SLACK_SIGNING_SECRET} "
                           "(Basic Information → App Credentials in the app's settings)")
    handler = SlackRequestHandler(build_bolt_app(app, signing_secret=secret), path=EVENTS_PATH)

    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") != EVENTS_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [f"not found: Slack requests go to {EVENTS_PATH}\n".encode()]
        if not environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "").strip().isdigit():
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])  # not Slack's
            return [b"invalid request: no X-Slack-Request-Timestamp\n"]
        try:
            return handler(environ, start_response)
        except Exception as e:  # noqa: BLE001 -- a body Bolt cannot read: the sender's problem
            log.warning("slack app: a request could not be read (%s: %s)", type(e).__name__,
                        str(e)[:200])
            start_response("400 Bad Request", [("Content-Type", "text/plain")], sys.exc_info())
            return [b"bad request\n"]

    try:
        return serve_wsgi(wsgi, host, port, name="slack-http")
    except OSError as e:
        raise TechwatchError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


def start_socket_mode(app: App) -> SocketModeHandler:
    handler = SocketModeHandler(build_bolt_app(app, signing_secret=None),
                                app_token=app.env[ENV_SLACK_APP_TOKEN],
                                logger=logging.getLogger("techwatch.slack"))
    try:
        handler.connect()  # returns: the socket runs on its own threads
    except SlackApiError as e:
        raise TechwatchError(f"Socket Mode: Slack refused {ENV_SLACK_APP_TOKEN}: "
                             f"{e.response.get('error', 'error')}") from None
    except (SlackClientError, OSError) as e:
        raise TechwatchError(f"Socket Mode: cannot reach Slack ({e})") from None
    return handler


def token_answer(app: App, *, say: bool = False) -> str | None:
    """Slack's word on the bot token (auth.test): "ok", its error, or None when Slack cannot be
    reached (said as a warning when `say`)."""
    try:
        build_client(app.slack_token or "", app.settings.slack.api_url).auth_test()
        return "ok"
    except SlackApiError as e:
        error = str(e.response.get("error", "error"))
        if say and error not in TOKEN_ERRORS:
            log.warning("serve: could not check %s: %s", ENV_SLACK_TOKEN, error)
        return error
    except (SlackClientError, OSError) as e:
        if say:
            log.warning("serve: cannot reach Slack to check %s (%s); serving anyway",
                        ENV_SLACK_TOKEN, e)
        return None


def check_token(app: App) -> str | None:
    """Refuse a bot token Slack refuses, before serving: else every command would be answered
    with Bolt's "reinstall this app". Slack out of reach is only a warning. Slack's answer."""
    answer = token_answer(app, say=True)
    if answer in TOKEN_ERRORS:
        raise SettingError(f"serve: Slack refuses {ENV_SLACK_TOKEN}: {answer} "
                           f"({TOKEN_ERRORS[answer]})")
    return answer


def token_watch(app: App, answer: str | None = None) -> SlackToken | None:
    """Readiness's view of the bot token (None: Slack is not configured): `answer`, Slack's
    word already had, or asked in the background; refused once a post is refused for it."""
    token = app.slack_token
    if not token:
        return None

    def ask() -> str | None:  # another error (ratelimited, fatal_error): asked again later
        said = token_answer(app)
        return said if said == "ok" or said in TOKEN_ERRORS else None

    watch = SlackToken(ask, lambda: app.token_refused.get(token))
    if answer == "ok" or answer in TOKEN_ERRORS:
        watch.answer = answer
    else:
        watch.start()
    return watch


class ServeHealth:
    """`techwatch serve`'s /healthz and /readyz. Alive: its listener is (the HTTP endpoint's
    thread runs, or the Socket Mode client exists). Ready: connected to Slack (Socket Mode)
    and the bot token accepted."""

    def __init__(self, token: SlackToken | None) -> None:
        self.token = token
        self.running: Running | None = None  # set once the app listens

    def verdict(self) -> Verdict:
        if self.running is None or not self.running.alive():
            return False, "the Slack app is not listening"
        return True, "ok"

    def readiness(self) -> Verdict:
        live, reason = self.verdict()
        if not live:
            return live, reason
        if not self.running.connected():
            return False, "Socket Mode is not connected to Slack"
        return self.token.verdict() if self.token is not None else (True, "ok")


@dataclass(frozen=True)
class Running:
    """The Slack app, listening: call it to stop it."""

    close: Callable[[], None]
    alive: Callable[[], bool]  # its listener runs
    connected: Callable[[], bool] = lambda: True  # Socket Mode: the WebSocket is up

    def __call__(self) -> None:
        self.close()


def start_slack_app(app: App, *, host: str, port: int) -> Running | None:
    """The app beside `techwatch run` when its credentials are there: Socket Mode with
    SLACK_APP_TOKEN, else HTTP when `[slack] events_port` is set."""
    if not app.slack_token:
        return None
    if app.env.get(ENV_SLACK_APP_TOKEN):
        handler = start_socket_mode(app)
        log.info("slack app: Socket Mode connected")
        return Running(handler.close, lambda: not handler.client.closed,
                       handler.client.is_connected)
    if port:
        server = serve_http(app, host, port)
        log.info("slack app: listening on http://%s:%d%s", host, port, EVENTS_PATH)
        return Running(server.shutdown, server.alive)
    return None
