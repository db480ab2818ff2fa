"""Which story a new article belongs to: decided here, from what the store reads for it (a few
index rows and candidates of the window, never the archive); the store writes the decision.

An article joins the story of an earlier one that is a copy (MinHash estimate >= near_duplicate)
or a report of the same event (`events.similarity` >= same_event, or same_event_undated if
either has no publication date, and it fits the story's recent reports), else it is a story of
its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.config import StorySettings
from bot.stories import events, minhash
from bot.stories.events import StoryTerms


@dataclass(frozen=True, slots=True)
class CopyCandidate:
    id: int
    story: int
    signature: tuple[int, ...]
    day: date | None


class StoryReads(Protocol):
    """What grouping reads of the archive, within the transaction that writes the decision."""

    def idf(self, terms: set[str]) -> events.Idf: ...

    def frequencies(self, terms: Iterable[str]) -> dict[str, int]: ...

    def copy_candidates(self, bands: list[str], since: datetime, article_id: int,
                        ) -> list[CopyCandidate]: ...

    def event_candidates(self, keys: list[str], since: datetime, article_id: int,
                         ) -> list[tuple[int, int]]: ...  # (article, its story)

    def story_terms(self, ids: list[int]) -> dict[int, StoryTerms]: ...

    def members(self, story: int, since: datetime) -> list[StoryTerms]: ...


@dataclass(frozen=True, slots=True)
class Decision:
    story: int | None  # None: a story of its own
    bands: list[str]  # its LSH band keys, to index
    keys: list[str]  # its rarest terms, to index


def decide(article_id: int, signature: tuple[int, ...], terms: StoryTerms, reads: StoryReads,
           rules: StorySettings, now: datetime) -> Decision:
    since = now - timedelta(days=rules.window_days)
    bands = minhash.band_keys(signature)
    idf = reads.idf(terms.document_terms)
    keys = events.index_terms(terms, idf)
    story = _copy_story(article_id, signature, bands, reads, rules, since, terms) or \
        _event_story(article_id, terms, keys, idf, reads, rules, since)
    return Decision(story, bands, keys)


def _copy_story(article_id: int, signature: tuple[int, ...], bands: list[str],
                reads: StoryReads, rules: StorySettings, since: datetime, terms: StoryTerms,
                ) -> int | None:
    """The story of the window's likeliest copy; a copy published more than `window_days`
    apart (last month's release, republished) is another story, as for any report, and so is
    one whose identifiers disagree (last year's rule, from the same template)."""
    if not bands:
        return None
    copies = []
    for candidate in reads.copy_candidates(bands, since, article_id):
        if not events.days_apart_within(terms.day, candidate.day, rules.window_days):
            continue
        score = minhash.estimate_similarity(signature, candidate.signature)
        if score >= rules.near_duplicate:
            copies.append((score, candidate.id, candidate.story))
    copies.sort(key=lambda c: c[0])  # the likeliest last (of equals, the latest found)
    if copies and terms.ids:  # read what the copies identify only when it can matter
        held = reads.story_terms([i for _, i, _ in copies])
        copies = [c for c in copies if c[1] not in held or events.compatible(terms, held[c[1]])]
    return copies[-1][2] if copies else None


def _event_story(article_id: int, terms: StoryTerms, keys: list[str], idf: events.Idf,
                 reads: StoryReads, rules: StorySettings, since: datetime) -> int | None:
    """The story of the window's article most like this one, looked up by its index terms;
    only the `events.EVENT_CANDIDATES` sharing most of them are compared."""
    if not keys:
        return None
    rows = reads.event_candidates(keys, since, article_id)
    compared = reads.story_terms([i for i, _ in rows])
    others = [(story, compared[i]) for i, story in rows if i in compared]
    idf = _with(idf, reads, set().union(*(o.document_terms for _, o in others)))
    common = events.boilerplate(terms, others)
    scored = [(events.similarity(terms, other, idf, rules.window_days, common), story, other)
              for story, other in others]
    alike = sorted(((score, story) for score, story, other in scored
                    if score >= rules.same_event_bar(events.both_dated(terms, other))),
                   reverse=True)
    for story in dict.fromkeys(story for _, story in alike):
        members = reads.members(story, since)
        idf = _with(idf, reads, set().union(*(m.names for m in members)))
        if events.fits(terms, members, idf, common):
            return story
    return None


def _with(idf: events.Idf, reads: StoryReads, terms: set[str]) -> events.Idf:
    """`idf` knowing the frequencies of `terms` too."""
    more = terms - idf.frequency.keys()
    return events.Idf(idf.documents, {**reads.frequencies(more), **idf.frequency}) if more \
        else idf
