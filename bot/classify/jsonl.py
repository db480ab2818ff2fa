"""JSON Lines in and out for `techwatch classify` and `techwatch eval`: a bad line becomes an
error object in its place, and the rest go on."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from bot.classify.classifier import Classifier


def read_jsonl(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, object or None, error or None) for each non-blank line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            yield number, None, f"line {number}: not JSON ({e.msg} at column {e.colno})"
            continue
        if not isinstance(value, dict):
            yield number, None, f"line {number}: expected a JSON object"
            continue
        yield number, value, None


def classify_line(number: int, item: dict[str, Any] | None, error: str | None,
                  classifier: Classifier) -> dict[str, Any]:
    """The output object of one input line."""
    if error is None:
        error = _check(number, item)
    if error is not None:
        return {"id": item.get("id") if isinstance(item, dict) else None, "line": number,
                "error": error}
    result = classifier.classify(item.get("title") or "", item.get("text") or "",
                                 item.get("lang"))
    return {"id": item.get("id"), "relevant": result.relevant, "score": result.score,
            "topics": list(result.topics),
            "evidence": {k: list(v) for k, v in result.evidence.items()},
            "actors": {k: list(v) for k, v in result.actors.items()}, "cues": list(result.cues)}


def _check(number: int, item: dict[str, Any]) -> str | None:
    for key in ("title", "text", "lang"):
        if item.get(key) is not None and not isinstance(item[key], str):
            return f"line {number}: {key!r} must be a string"
    if not (item.get("title") or item.get("text")):
        return f"line {number}: needs a 'title' or a 'text'"
    return None
