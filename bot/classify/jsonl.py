"""JSON Lines in and out for `techwatch classify` and `techwatch eval`: a bad line becomes an
error object in its place, and the rest go on."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from bot.classify.classifier import Classifier


def read_jsonl(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, object or None, error or None) for each non-blank line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_constant=_no_constant, parse_float=_finite)
        except json.JSONDecodeError as e:
            yield number, None, f"line {number}: not JSON ({e.msg} at column {e.colno})"
            continue
        except (ValueError, RecursionError) as e:  # NaN, 1e999, 5,000 digits, deep nesting
            yield number, None, f"line {number}: not usable JSON ({_reason(e)})"
            continue
        if not isinstance(value, dict):
            yield number, None, f"line {number}: expected a JSON object"
            continue
        yield number, value, None


def dumps_line(output: dict[str, Any]) -> str:
    """One output line of valid JSON, UTF-8 encodable (a lone surrogate from the input is kept
    as its \\u escape)."""
    line = json.dumps(output, ensure_ascii=False, allow_nan=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(output, allow_nan=False)
    return line


def check_labeled(number: int, item: dict[str, Any], stories: bool = False) -> str | None:
    """A labeled row (the corpus format) that `eval` can score, or what is wrong with it; the
    relevance label is needed unless only the stories are scored (by their `event`)."""
    error = _check(number, item)
    if not stories and "relevant" not in item:
        return error or f"line {number}: no 'relevant' label"
    for key in ("relevant", "borderline"):
        if item.get(key) is not None and not isinstance(item[key], bool):
            return error or f"line {number}: {key!r} must be true or false"
    topics = item.get("topics")
    if topics is not None and not (isinstance(topics, list) and
                                   all(isinstance(t, str) for t in topics)):
        return error or f"line {number}: 'topics' must be a list of topic ids"
    if item.get("event") is not None and not isinstance(item["event"], str):
        return error or f"line {number}: 'event' must be a string or null"
    if stories and item.get("published") is not None and not _iso_date(item["published"]):
        return error or f"line {number}: 'published' must be a date (2025-10-28) or null, " \
            f"not {str(item['published'])[:40]!r}"
    return error


def _iso_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value)[:10])
        return True
    except ValueError:
        return False


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
            "category": result.category, "topics": list(result.topics),
            "evidence": {k: list(v) for k, v in result.evidence.items()},
            "actors": {k: list(v) for k, v in result.actors.items()}, "cues": list(result.cues)}


def _check(number: int, item: dict[str, Any]) -> str | None:
    for key in ("title", "text", "lang"):
        if item.get(key) is not None and not isinstance(item[key], str):
            return f"line {number}: {key!r} must be a string"
    if not (item.get("title") or item.get("text")):
        return f"line {number}: needs a 'title' or a 'text'"
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is too large a number")
    return value


def _reason(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error).split(";")[0][:120]
