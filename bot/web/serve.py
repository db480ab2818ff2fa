"""The web pages on their own listener (bot.wsgiserver: bounded bodies, slow clients cut),
beside the Slack app of `techwatch serve` and the daemon of `techwatch run`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.config import LOOPBACK_HOSTS
from bot.errors import ConfigError, SettingError, TechwatchError
from bot.wsgiserver import Serving, serve_wsgi

if TYPE_CHECKING:
    from bot.app import App
    from bot.web.app import WebApp

log = logging.getLogger("techwatch")
ENV_WEB_PORT = "TECHWATCH_WEB_PORT"


def web_port(app: App) -> int:
    """`[web] port`, or TECHWATCH_WEB_PORT (a container's: `-p 8080:8080`); 0: not served."""
    given = app.env.get(ENV_WEB_PORT, "").strip()
    if not given:
        return app.settings.web.port
    if not given.isdigit() or not 0 <= int(given) <= 65535:
        raise ConfigError(str(app.settings.config_file), ENV_WEB_PORT,
                          f"not a port number: {given[:20]!r}")
    return int(given)


def build_web_app(app: App, env: Mapping[str, str] | None = None) -> WebApp:
    """The WSGI application, its access checked now: a missing secret is SettingError."""
    from bot.web.app import Access, WebApp

    env = app.env if env is None else env
    settings = app.settings
    access = Access(settings.web.auth, env, api_url=settings.slack.api_url,
                    public_url=settings.web.public_url, team=lambda: _bot_team(app))
    return WebApp(app, access)


def _bot_team(app: App) -> str | None:
    """The workspace whose members may sign in: the bot token's (auth.test), None when it
    cannot be known now (asked again at the next sign-in)."""
    from slack_sdk.errors import SlackClientError

    from bot.notify.slack import build_client

    if not app.slack_token:
        return None
    try:
        return build_client(app.slack_token, app.settings.slack.api_url).auth_test().get("team_id")
    except (SlackClientError, OSError) as e:
        log.warning("web: cannot ask Slack which workspace may sign in (%s)", e)
        return None


def web_pages(app: App) -> WebApp | None:
    """The pages to serve when `[web] port` (or TECHWATCH_WEB_PORT) is set, else None; checked
    before anything listens: ConfigError for a host beyond loopback without public_url and
    auth, SettingError for a missing secret."""
    port = web_port(app)
    if not port:
        return None
    web = app.settings.web
    if web.host not in LOOPBACK_HOSTS and not (web.public_url and web.auth):  # a port from env
        raise ConfigError(str(app.settings.config_file), "web.host",
                          f"{web.host!r} is beyond loopback: the archive is served there only "
                          "with web.public_url and web.auth set")
    if web.auth == "slack" and not app.slack_token:
        raise SettingError("web: [web] auth = \"slack\" needs SLACK_BOT_TOKEN (its workspace is "
                           "the one whose members may sign in)")
    return build_web_app(app)


def start_web(app: App, pages: WebApp) -> Serving:
    """The pages on `[web] host`:`port`, on their own thread; TechwatchError when it cannot
    listen."""
    web, port = app.settings.web, web_port(app)
    try:
        server = serve_wsgi(pages, web.host, port, name="web")
    except OSError as e:
        raise TechwatchError(f"web: cannot listen on {web.host}:{port}: {e.strerror or e}") \
            from None
    pages.trend_cache.warm()  # the one page that takes a while to read
    host, bound = server.server_address
    log.info("web: the archive on http://%s:%d/%s", host, bound,
             f" (reached at {web.public_url})" if web.public_url else "")
    return server
