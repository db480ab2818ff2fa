"""`techwatch eval --stories`: the story grouping on labeled items (the corpus format), scored as
pairwise "same story" precision and recall against their `event` labels."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from bot.config import StorySettings
from bot.stories.events import (
    EVENT_CANDIDATES,
    Idf,
    boilerplate,
    both_dated,
    compatible,
    fits,
    index_terms,
    similarity,
    story_terms,
    within,
)
from bot.stories.glossary import Glossary
from bot.stories.minhash import estimate_similarity, signature

SHOWN = 10  # split events listed in the text report


@dataclass(frozen=True, slots=True)
class StoryReport:
    items: int
    labeled_stories: int
    found_stories: int
    pairs_labeled: int
    pairs_found: int
    precision: float
    recall: float
    pairs_labeled_across_languages: int  # labeled same-story pairs of two languages (en–ja)
    pairs_found_across_languages: int  # ... of them found
    split_events: tuple[SplitEvent, ...] = ()  # where recall is lost, the most pairs first
    mixed_stories: tuple[tuple[str, ...], ...] = ()  # where precision is: items of 2+ events

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__ if f != "split_events"} | {
            "split_events": [e._asdict() for e in self.split_events]}

    def render(self) -> str:
        lines = [f"Stories ({self.items} items): {self.found_stories} found, "
                 f"{self.labeled_stories} labeled",
                 f"Same-story pairs: {self.pairs_found} found, {self.pairs_labeled} labeled; "
                 f"precision {self.precision:.3f}  recall {self.recall:.3f}",
                 f"Across languages: {self.pairs_found_across_languages} of "
                 f"{self.pairs_labeled_across_languages} labeled pairs found"]
        if self.split_events:
            lines.append("Events split into several stories (pairs missed):")
            lines += [f"  {e.event}: {e.items} items in {e.stories} stories ({e.pairs_missed})"
                      for e in self.split_events[:SHOWN]]
            if len(self.split_events) > SHOWN:
                lines.append(f"  ... and {len(self.split_events) - SHOWN} more (--json lists "
                             "all)")
        if self.mixed_stories:
            lines.append("Stories mixing events (their items):")
            lines += [f"  {', '.join(ids)}" for ids in self.mixed_stories]
        return "\n".join(lines)


class SplitEvent(NamedTuple):
    event: str
    items: int
    stories: int
    pairs_missed: int


def group(rows: Sequence[Mapping[str, Any]], settings: StorySettings,
          glossary: Glossary | None = None) -> dict[str, int]:
    """Story number of each item id, grouped as the pipeline does: in date order, an item joins
    the story of an earlier copy (MinHash estimate >= near_duplicate), else of the earlier report
    of the same event most like it (similarity >= same_event, or same_event_undated when either
    has no date) whose story it fits (shares names with most of its reports; names most of the
    compared stories share are a template's, and do not count). Document
    frequencies are counted over all the items, as in an archive that holds them."""
    ordered = sorted(rows, key=lambda r: (r.get("published") or "9999", str(r["id"])))
    signatures = {r["id"]: signature(f"{r.get('title') or ''}\n{r.get('text') or ''}")
                  for r in ordered}
    terms = {r["id"]: story_terms(r.get("title") or "", r.get("text") or "", _day(r), glossary)
             for r in ordered}
    idf = Idf.of(terms.values())
    keys = {i: set(index_terms(t, idf)) for i, t in terms.items()}
    story: dict[str, int] = {}
    members: dict[int, list[str]] = {}  # of each story, its items
    for i, row in enumerate(ordered):
        here = row["id"]
        copies = [(estimate_similarity(signatures[here], signatures[e["id"]]), e["id"])
                  for e in ordered[:i] if within(terms[here], terms[e["id"]], settings.window_days)
                  and compatible(terms[here], terms[e["id"]])]
        copy = max(copies, default=(0.0, ""))
        if copy[0] >= settings.near_duplicate:
            story[here] = story[copy[1]]
            members[story[here]].append(here)
            continue
        candidates = _candidates(keys, ordered[:i], here)
        common = boilerplate(terms[here], [(story[e], terms[e]) for e in candidates])
        events = [(similarity(terms[here], terms[e], idf, settings.window_days, common), e)
                  for e in candidates]
        alike = sorted(((s, story[e]) for s, e in events
                        if s >= settings.same_event_bar(both_dated(terms[here], terms[e]))),
                       key=lambda c: -c[0])
        story[here] = next((s for s in dict.fromkeys(s for _, s in alike)
                            if fits(terms[here], [terms[m] for m in members[s]], idf, common)),
                           i)
        members.setdefault(story[here], []).append(here)
    return story


def evaluate_stories(rows: Sequence[Mapping[str, Any]], settings: StorySettings,
                     glossary: Glossary | None = None) -> StoryReport:
    story = group(rows, settings, glossary)
    events = {r["id"]: r.get("event") for r in rows}
    langs = {r["id"]: r.get("lang") for r in rows}
    tp = fp = fn = across = across_found = 0
    for a, b in itertools.combinations(story, 2):
        same = events[a] is not None and events[a] == events[b]
        found = story[a] == story[b]
        tp += same and found
        fp += found and not same
        fn += same and not found
        if same and langs[a] != langs[b]:
            across += 1
            across_found += found
    labeled = {events[i] or f"single:{i}" for i in story}
    return StoryReport(len(story), len(labeled), len(set(story.values())), tp + fn, tp + fp,
                       round(tp / (tp + fp), 4) if tp + fp else 1.0,
                       round(tp / (tp + fn), 4) if tp + fn else 1.0, across, across_found,
                       _split_events(story, events), _mixed_stories(story, events))


def _split_events(story: Mapping[str, int], events: Mapping[str, str | None],
                  ) -> tuple[SplitEvent, ...]:
    by_event: dict[str, list[int]] = {}
    for item, event in events.items():
        if event is not None:
            by_event.setdefault(event, []).append(story[item])
    split = [SplitEvent(event, len(found), len(set(found)),
                        _pairs(len(found)) - sum(_pairs(found.count(s)) for s in set(found)))
             for event, found in by_event.items() if len(set(found)) > 1]
    return tuple(sorted(split, key=lambda e: (-e.pairs_missed, e.event)))


def _mixed_stories(story: Mapping[str, int], events: Mapping[str, str | None],
                   ) -> tuple[tuple[str, ...], ...]:
    members: dict[int, list[str]] = {}
    for item, number in story.items():
        members.setdefault(number, []).append(item)
    return tuple(tuple(ids) for ids in members.values()
                 if len({events[i] or f"single:{i}" for i in ids}) > 1)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _candidates(keys: Mapping[str, set[str]], earlier: Sequence[Mapping[str, Any]], here: str,
                ) -> list[str]:
    """The earlier items the archive's index would offer: sharing most looked-up terms."""
    shared = [(len(keys[here] & keys[e["id"]]), e["id"]) for e in earlier]
    ranked = sorted(((n, i) for n, i in shared if n), key=lambda c: -c[0])
    return [i for _, i in ranked[:EVENT_CANDIDATES]]


def _day(row: Mapping[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(row.get("published"))[:10])
    except ValueError:
        return None
