"""Log lines: human-readable on a terminal, or one JSON object a line for log collectors; each
with the source or channel it concerns (`extra={"source": ...}`), never a secret."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from bot.untrusted import CONTROL

log = logging.getLogger("techwatch")
SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
HIDDEN = "[redacted]"
# Slack's token shapes: xoxb- (bot), xoxp- (user), xoxa-/xoxr-/xoxs-/xoxo-, xoxc- (browser),
# xoxe- (refresh) and xoxe.xoxp- (rotated), xapp- (app-level)
TOKEN = re.compile(r"\b(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]{8,}")
BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
# the user-info of a URL of any scheme (also //user@host): everything before the host's last @
# (matched from the // alone: a scheme pattern before it would make a hostile line quadratic)
USER_INFO = re.compile(r"//[^\s/<>\"]*@")
# a query or fragment value whose name says it is a credential (api_key, access_token, sig,
# X-Amz-Signature, client_secret, password ...)
SECRET_PARAMS = re.compile(r"(?i)([?&#;][\w.-]*(?:token|key|secret|passw(?:or)?d|pwd|sig|signature"
                           r"|credentials?|auth|session(?:id)?|jwt)=)[^&#;\s\"'<>|]*")
UNSAFE = re.compile(f"[\r\n]|{CONTROL.pattern}")
CONTEXT = ("source", "channel")
LOG_FORMATS = ("text", "json")  # [logging] format, --log-format
NOISY = ("trafilatura", "htmldate", "charset_normalizer", "courlan", "apscheduler",
         "slack_sdk.web.base_client")  # its failed request is an exception we report


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` without a secret, wherever in it: the given secrets (by default those in the
    environment, SECRET_ENV) of 8 characters or more, anything shaped like a Slack token or a
    bearer token, URL user-info and credential query values. The one redaction every log line,
    error line and `status` output goes through."""
    for secret in (os.environ.get(name, "") for name in SECRET_ENV) if secrets is None else secrets:
        if len(secret) >= 8:
            text = text.replace(secret, HIDDEN)
    text = BEARER.sub(rf"\1{HIDDEN}", TOKEN.sub(HIDDEN, text))
    return SECRET_PARAMS.sub(r"\1***", USER_INFO.sub("//***@", text))


def scrub(text: str, secrets: Iterable[str] | None = None) -> str:
    """One inert line without a secret: `redact`ed, line breaks and control characters spaces
    (a feed's text in it may carry escapes or line breaks)."""
    return UNSAFE.sub(" ", redact(text, secrets))


class Redact(logging.Filter):
    """Every record, whatever logs it, `scrub`bed; its traceback `redact`ed."""

    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        super().__init__()
        self.secrets = None if secrets is None else list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:  # formatted once, as Formatter would
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "message": record.getMessage()}
        line |= {k: getattr(record, k) for k in CONTEXT if getattr(record, k, None)}
        if record.exc_info:
            line["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: int, fmt: str = "text", secrets: Iterable[str] | None = None) -> None:
    """Our log lines to standard error; libraries only when they warn."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(Redact(secrets))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    root = logging.getLogger()
    root.handlers[:] = [handler]  # a library's warning goes out in the same format
    root.setLevel(logging.WARNING)
    for noisy in NOISY:  # a page they cannot parse is ours to report, once, in our words
        logging.getLogger(noisy).setLevel(logging.ERROR if noisy == "apscheduler"
                                          else logging.CRITICAL)
