"""Log lines: human-readable on a terminal, or one JSON object a line for log collectors; each
with the source or channel it concerns (`extra={"source": ...}`), never a secret."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.untrusted import CONTROL

SECRET_PARAMS = re.compile(r"(?i)([?&](?:[a-z_]*token|[a-z_]*key|secret|password|sig|signature)=)"
                           r"[^&#]*")

log = logging.getLogger("techwatch")
SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
TOKEN = re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{8,}")  # Slack token shapes
UNSAFE = re.compile(f"[\r\n]|{CONTROL.pattern}")
CONTEXT = ("source", "channel")
NOISY = ("trafilatura", "htmldate", "charset_normalizer", "courlan", "apscheduler",
         "slack_sdk.web.base_client")  # its failed request is an exception we report


class Redact(logging.Filter):
    """Blanks the configured secrets and anything shaped like a Slack token, whatever logs it;
    and keeps a record one inert line (a feed's text in it may carry escapes or line breaks)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def scrub(text: str, secrets: Iterable[str]) -> str:
    """One inert line without a secret: the given secrets (of 8 characters or more) and
    anything shaped like a Slack token blanked, line breaks and control characters spaces."""
    clean = UNSAFE.sub(" ", TOKEN.sub("[redacted]", text))
    for secret in secrets:
        if len(secret) >= 8:
            clean = clean.replace(secret, "[redacted]")
    return clean


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "message": record.getMessage()}
        line |= {k: getattr(record, k) for k in CONTEXT if getattr(record, k, None)}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: int, fmt: str = "text", secrets: Iterable[str] = ()) -> None:
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


def redact(url: str) -> str:
    """A URL fit for logs: no password in it, no token or key values in its query."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL: anything before an @ may be a password
        return SECRET_PARAMS.sub(r"\1***", re.sub(r"//[^/@]*@", "//***@", url))
    if parts.password or parts.username:
        url = url.replace(f"{parts.netloc.rsplit('@', 1)[0]}@", "***@", 1)
    return SECRET_PARAMS.sub(r"\1***", url)
