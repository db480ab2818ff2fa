"""The seed documents: reference texts that define the field, archived on first run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SeedDocument:
    name: str
    title: str
    text: str


def read_seeds(directory: Path) -> list[SeedDocument]:
    """Every *.txt in the directory; its title is its first line that reads like a headline."""
    seeds = []
    for path in sorted(directory.glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        title = next((line for line in lines if 20 <= len(line) <= 200), path.stem)
        seeds.append(SeedDocument(path.stem, title, text))
    return seeds
