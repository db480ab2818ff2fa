"""The seed documents: reference texts that define the field, archived on first run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BULLET = re.compile(r"^[•*\-–·●]")
SENTENCE_END = re.compile(r"(?<=[.!?。])\s")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = (r"(?P<month>january|february|march|april|may|june|july|august|september|october|"
          r"november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b\.?")
FULL_DATES = (  # dates with a day: a year alone, or "the first quarter", is a period, not a date
    re.compile(rf"\b{_MONTH} (?P<day>\d{{1,2}}),? (?P<year>(?:19|20)\d\d)\b", re.I),
    re.compile(rf"\b(?P<day>\d{{1,2}}) {_MONTH},? (?P<year>(?:19|20)\d\d)\b", re.I),
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>[01]\d)-(?P<day>[0-3]\d)\b"),
    re.compile(r"(?P<year>(?:19|20)\d\d)年(?P<month>\d{1,2})月(?P<day>\d{1,2})日"),
)


@dataclass(frozen=True, slots=True)
class SeedDocument:
    name: str
    title: str
    text: str
    published: datetime | None = None  # the text's own date (`seed_date`), else none


def read_seeds(directory: Path, now: datetime | None = None) -> list[SeedDocument]:
    """Every *.txt in the directory, titled by `seed_title`, dated by `seed_date`."""
    seeds = []
    for path in sorted(directory.glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        seeds.append(SeedDocument(path.stem, seed_title(text) or path.stem, text,
                                  seed_date(text, now or datetime.now(UTC))))
    return seeds


def seed_date(text: str, now: datetime) -> datetime | None:
    """The latest full date the text names, up to `now` (a text is written on or after the
    events it reports; a later date is a plan); None when it names no day: a reference
    document is not dated by the day it was archived."""
    found = []
    for pattern in FULL_DATES:
        for match in pattern.finditer(text):
            month = match["month"]
            number = int(month) if month.isdigit() else MONTHS.index(month[:3].lower()) + 1
            try:
                found.append(datetime(int(match["year"]), number, int(match["day"]), tzinfo=UTC))
            except ValueError:
                continue  # "February 30": not a date
    return max((d for d in found if d <= now), default=None)


def seed_title(text: str) -> str:
    """A headline-like line near the top (20-200 characters, not a bullet), else the first
    sentence of the first paragraph, shortened."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines[:4]:
        if 20 <= len(line) <= 200 and not BULLET.match(line):
            return line
    paragraph = next((line for line in lines if len(line) > 200), "")
    sentence = SENTENCE_END.split(paragraph, maxsplit=1)[0]
    return sentence if len(sentence) <= 160 else sentence[:157].rsplit(" ", 1)[0] + "…"
