"""`techwatch eval --stories`: the story grouping on labeled items (the corpus format), scored as
pairwise "same story" precision and recall against their `event` labels."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.stories.minhash import estimate_similarity, signature


@dataclass(frozen=True, slots=True)
class StoryReport:
    items: int
    labeled_stories: int
    found_stories: int
    pairs_labeled: int
    pairs_found: int
    precision: float
    recall: float

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}

    def render(self) -> str:
        return (f"Stories ({self.items} items): {self.found_stories} found, "
                f"{self.labeled_stories} labeled\n"
                f"Same-story pairs: {self.pairs_found} found, {self.pairs_labeled} labeled; "
                f"precision {self.precision:.3f}  recall {self.recall:.3f}")


def group(rows: Sequence[Mapping[str, Any]], threshold: float, window_days: float,
          ) -> dict[str, int]:
    """Story number of each item id, grouped as the pipeline does: in date order, an item joins
    the story of the most similar earlier copy within the window (MinHash estimate >= threshold)."""
    ordered = sorted(rows, key=lambda r: (r.get("published") or "9999", str(r["id"])))
    signatures = {r["id"]: signature(f"{r.get('title', '')}\n{r.get('text', '')}")
                  for r in ordered}
    story: dict[str, int] = {}
    for i, row in enumerate(ordered):
        best, best_score = i, threshold
        for earlier in ordered[:i]:
            if not _close(row.get("published"), earlier.get("published"), window_days):
                continue
            score = estimate_similarity(signatures[row["id"]], signatures[earlier["id"]])
            if score >= best_score:
                best, best_score = story[earlier["id"]], score
        story[row["id"]] = best
    return story


def evaluate_stories(rows: Sequence[Mapping[str, Any]], threshold: float,
                     window_days: float) -> StoryReport:
    story = group(rows, threshold, window_days)
    events = {r["id"]: r.get("event") for r in rows}
    tp = fp = fn = 0
    for a, b in itertools.combinations(story, 2):
        same = events[a] is not None and events[a] == events[b]
        found = story[a] == story[b]
        tp += same and found
        fp += found and not same
        fn += same and not found
    labeled = {events[i] or f"single:{i}" for i in story}
    return StoryReport(len(story), len(labeled), len(set(story.values())), tp + fn, tp + fp,
                       round(tp / (tp + fp), 4) if tp + fp else 1.0,
                       round(tp / (tp + fn), 4) if tp + fn else 1.0)


def _close(a: str | None, b: str | None, window_days: float) -> bool:
    if not a or not b:
        return True
    return abs((date.fromisoformat(a) - date.fromisoformat(b)).days) <= window_days
