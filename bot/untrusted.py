"""Feed and page text is untrusted: the characters that must never reach a terminal, a log line
or a link as they are (escape sequences, line breaks in a URL, bidi overrides that make
"gnp.exe" read "exe.png")."""

from __future__ import annotations

import re
from urllib.parse import quote

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
CONTROL = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")  # tab, newline kept
_NOT_IN_A_LINK = re.compile(f"[\x00-\x20\x7f-\x9f{_BIDI}]")


def safe_link(url: str) -> str:
    """The URL with control, space and bidi characters percent-encoded (what a browser sends
    for them), so it stays one inert token wherever it is printed."""
    return _NOT_IN_A_LINK.sub(lambda m: quote(m.group(0)), url.strip())
