""""7d", "24h", "2w" or a date -> the moment it means (for --since and since:)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.errors import TechwatchError


def parse_since(value: str, now: datetime, option: str = "--since") -> datetime:
    match = re.fullmatch(r"(\d+)\s*([hdw])", value.strip().lower())
    if match:
        unit = {"h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        try:
            return now - timedelta(**{unit: int(match.group(1))})
        except OverflowError:
            raise TechwatchError(f"{option} {value!r}: too far back") from None
    try:
        day = datetime.fromisoformat(value.strip())
    except ValueError:
        raise TechwatchError(f"{option} {value!r}: use 24h, 7d, 2w or a date like 2025-01-31") \
            from None
    return day if day.tzinfo else day.replace(tzinfo=UTC)
