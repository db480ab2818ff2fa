"""The seed documents: reference texts that define the field, archived on first run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BULLET = re.compile(r"^[•*\-–·●]")
SENTENCE_END = re.compile(r"(?<=[.!?。])\s")


@dataclass(frozen=True, slots=True)
class SeedDocument:
    name: str
    title: str
    text: str


def read_seeds(directory: Path) -> list[SeedDocument]:
    """Every *.txt in the directory, titled by `seed_title`."""
    seeds = []
    for path in sorted(directory.glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        seeds.append(SeedDocument(path.stem, seed_title(text) or path.stem, text))
    return seeds


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
