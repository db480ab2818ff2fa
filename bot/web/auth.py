"""Who may read the archive's pages: nobody is asked on loopback (`[web] auth` unset); a shared
password list (HTTP basic, `auth = "password"`); or members of the bot's Slack workspace
("Sign in with Slack", OpenID Connect, `auth = "slack"`), remembered in a signed cookie.

The pure parts (password list, comparison, cookie signing, the ID token's claims) take their
inputs; the Slack exchange is the one call out (slack_sdk, to `slack.api_url`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.errors import SettingError

ENV_PASSWORDS = "TECHWATCH_WEB_PASSWORDS"
ENV_SECRET = "TECHWATCH_WEB_SECRET"
ENV_CLIENT_ID = "SLACK_CLIENT_ID"
ENV_CLIENT_SECRET = "SLACK_CLIENT_SECRET"
TEAM_CLAIM = "https://slack.com/team_id"
SESSION_SECONDS = 7 * 24 * 3600  # a reader signs in again after a week
SIGN_IN_SECONDS = 600  # the time to come back from Slack's consent page


@dataclass(frozen=True, slots=True)
class Password:
    user: str | None  # None: any user name
    password: str


def parse_passwords(value: str) -> tuple[Password, ...]:
    """TECHWATCH_WEB_PASSWORDS: comma-separated `name:password` entries (a bare `password`:
    any user name). SettingError when it holds none."""
    entries = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        user, colon, password = part.partition(":")
        entries.append(Password(user, password) if colon else Password(None, part))
    if not entries or any(not e.password for e in entries):
        raise SettingError(f"web: {ENV_PASSWORDS} must hold comma-separated name:password "
                           "entries (or bare passwords), none empty ([web] auth = \"password\")")
    return tuple(entries)


def check_password(user: str, password: str, entries: tuple[Password, ...]) -> bool:
    """Whether any entry lets this user in. Every entry is compared, in constant time, so the
    answer's timing tells nothing of which entry nearly matched."""
    given_user, given = user.encode(), password.encode()
    found = False
    for entry in entries:
        same_user = entry.user is None or hmac.compare_digest(given_user, entry.user.encode())
        found |= same_user & hmac.compare_digest(given, entry.password.encode())
    return found


# --- signed values (cookies) ---------------------------------------------------------------

def sign(value: Mapping[str, Any], secret: bytes) -> str:
    body = base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def unsign(token: str, secret: bytes, now: float) -> dict[str, Any] | None:
    """The value `sign` made, if the signature holds and its `exp` is not past; else None."""
    body, _, mac = token.partition(".")
    expected = base64.urlsafe_b64encode(hmac.new(secret, body.encode(), hashlib.sha256)
                                        .digest()).decode().rstrip("=")
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(body.encode()))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("exp"), int | float) or \
            value["exp"] < now:
        return None
    return value


def session_secret(env: Mapping[str, str]) -> bytes:
    """TECHWATCH_WEB_SECRET, else one made for this process (sessions end with it)."""
    given = env.get(ENV_SECRET, "")
    return given.encode() if given else secrets.token_bytes(32)


# --- Sign in with Slack ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SlackApp:
    client_id: str
    client_secret: str = ""


def slack_app(env: Mapping[str, str]) -> SlackApp:
    missing = [n for n in (ENV_CLIENT_ID, ENV_CLIENT_SECRET) if not env.get(n)]
    if missing:
        raise SettingError(f"web: [web] auth = \"slack\" needs {' and '.join(missing)} (the "
                           "Slack app's Basic Information → App Credentials)")
    return SlackApp(env[ENV_CLIENT_ID], env[ENV_CLIENT_SECRET])


def authorize_url(api_url: str, app: SlackApp, *, redirect_uri: str, state: str, nonce: str,
                  team: str | None) -> str:
    """Slack's consent page (https://slack.com/openid/connect/authorize, or the stand-in's
    beside its API)."""
    base = api_url.rstrip("/").removesuffix("/api")
    params = {"response_type": "code", "scope": "openid profile", "client_id": app.client_id,
              "state": state, "nonce": nonce, "redirect_uri": redirect_uri}
    if team:
        params["team"] = team
    return f"{base}/openid/connect/authorize?{urlencode(params)}"


def id_token_claims(id_token: str) -> dict[str, Any]:
    """The claims of an ID token received straight from Slack's token endpoint over the
    channel our client secret authenticates (OpenID Connect Core 3.1.3.7: its TLS stands for
    the signature); {} when it is not a JWT."""
    parts = id_token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def claims_problem(claims: Mapping[str, Any], *, client_id: str, nonce: str, team: str,
                   now: float) -> str | None:
    """Why these claims do not sign a reader in, or None: for this app, this sign-in, this
    workspace, not expired."""
    audience = claims.get("aud")
    if client_id not in (audience if isinstance(audience, list) else [audience]):
        return "the ID token is for another app"
    if not isinstance(nonce, str) or not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        return "the ID token is not of this sign-in"
    exp = claims.get("exp")
    if isinstance(exp, int | float) and exp < now:
        return "the ID token has expired"
    if claims.get(TEAM_CLAIM) != team:
        return "you are not a member of this Slack workspace"
    return None
