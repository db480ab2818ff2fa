"""Relevant articles -> a digest: grouped by topic, best first, each with why it matched."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from bot.classify import Taxonomy
from bot.models import ArticleView, StoryGrowth

OTHER = "other"


@dataclass(frozen=True, slots=True)
class DigestSection:
    topic_id: str
    title: str
    articles: tuple[ArticleView, ...]


@dataclass(frozen=True, slots=True)
class StoryUpdate:
    """A story shown before that more outlets reported since: "updated: +Outlet"."""

    lead: ArticleView  # the story as it was shown (its title and link)
    outlets: tuple[ArticleView, ...]  # the first report of each outlet not named before
    article_ids: tuple[int, ...]  # every article it settles (an outlet's second report too)


@dataclass(frozen=True, slots=True)
class Digest:
    since: datetime
    until: datetime
    sections: tuple[DigestSection, ...]
    updates: tuple[StoryUpdate, ...] = ()  # stories of earlier digests, grown since
    more: tuple[ArticleView, ...] = ()  # stories past its limit (their leads): a line each
    notice: str = ""  # said first: no source could be reached (bot.feeds.reach)

    @property
    def total(self) -> int:
        return sum(len(s.articles) for s in self.sections)

    @property
    def updated(self) -> tuple[StoryUpdate, ...]:
        """The updates with an outlet to name (the others settle articles silently)."""
        return tuple(u for u in self.updates if u.outlets)

    @property
    def update_ids(self) -> tuple[int, ...]:
        return tuple(i for u in self.updates for i in u.article_ids)


def build_digest(articles: Sequence[ArticleView], taxonomy: Taxonomy, since: datetime,
                 until: datetime, preferred_sources: Sequence[str] = (),
                 updates: Sequence[StoryUpdate] = (), limit: int | None = None) -> Digest:
    """Each story appears once (its lead, "also" the other outlets), under its strongest topic;
    sections follow their best story. Stories of earlier digests that grew come after, one
    "updated" line each, best first. Past `limit` stories (the best first, then the newest),
    the rest are `more`: a reader is told of them, one line each, never left to believe the
    digest was the whole day."""
    newest: dict[int, datetime] = {}
    for a in articles:
        story = a.story_id or a.id
        newest[story] = max(newest.get(story, a.first_seen), a.first_seen)
    ranked = sorted(stories(articles, preferred_sources),
                    key=lambda a: (-a.score, -newest[a.story_id or a.id].timestamp(), a.title))
    shown, more = (ranked, []) if limit is None else (ranked[:limit], ranked[limit:])
    groups: dict[str, list[ArticleView]] = {}
    for article in sorted(shown, key=lambda a: (-a.score, a.title)):
        groups.setdefault(article.topics[0] if article.topics else OTHER, []).append(article)
    sections = [DigestSection(tid, taxonomy.name(tid) if tid != OTHER else "Other",
                              tuple(items)) for tid, items in groups.items()]
    sections.sort(key=lambda s: -s.articles[0].score)
    ordered = sorted(updates, key=lambda u: (-u.lead.score, u.lead.title))
    return Digest(since, until, tuple(sections), tuple(ordered), tuple(more))


DAY = timedelta(hours=26)  # a daily digest's period, with room for a late or a DST-long day


def more_line(digest: Digest, tz: tzinfo) -> str:
    """What a digest says of the stories past its limit: "+3 more relevant stories today"
    (for a period longer than a day, "since <its start>"); empty when there are none."""
    n = len(digest.more)
    if not n:
        return ""
    when = "today" if digest.until - digest.since <= DAY else \
        f"since {digest.since.astimezone(tz):%a %d %b}"
    return f"+{n} more relevant {'story' if n == 1 else 'stories'} {when}"


def story_update(growth: StoryGrowth, preferred_sources: Sequence[str] = ()) -> StoryUpdate:
    """What a grown story has new: each outlet no digest of the channel named for it (the
    names are what a reader saw: an outlet's second report is not news), by its first report."""
    lead = stories(growth.shown, preferred_sources)[0]
    named = {a.source_name for a in growth.shown}
    outlets: dict[str, ArticleView] = {}
    for article in growth.new:
        if article.source_name not in named:
            outlets.setdefault(article.source_name, article)
    score = max(a.score for a in (*growth.shown, *growth.new))
    return StoryUpdate(replace(lead, score=score), tuple(outlets.values()),
                       tuple(a.id for a in growth.new))


# No news report is longer (some 5,000 words): a text past it is a page of filler, comments or
# many articles, and no more complete a report than an ordinary one
LONGEST_REPORT = 30_000
NEARLY_AS_LONG = 0.75  # a text at least this share of the longest is as complete: a wire
# header and licence footer add a fifth to a short report


def stories(articles: Sequence[ArticleView], preferred_sources: Sequence[str] = (),
            ) -> list[ArticleView]:
    """One entry a story: its lead article, with the names of the other outlets that reported
    it and the story's best score (what it ranks by). The lead is from the most preferred
    source the story has (config order; unlisted sources after), then the most complete text
    (a text past LONGEST_REPORT counts as none; one within NEARLY_AS_LONG of the longest is as
    complete: a copy with a licence footer is not more complete than the original), then the
    first seen."""
    rank = {source: len(preferred_sources) - i for i, source in enumerate(preferred_sources)}
    members: dict[int, list[ArticleView]] = {}
    for article in articles:
        members.setdefault(article.story_id or article.id, []).append(article)
    leads = []
    for group in members.values():
        preferred = max(rank.get(a.source_id, 0) for a in group)
        pool = [a for a in group if rank.get(a.source_id, 0) == preferred]
        longest = max(_completeness(a) for a in pool)
        lead = min((a for a in pool if _completeness(a) >= longest * NEARLY_AS_LONG),
                   key=lambda a: a.id)
        others = dict.fromkeys(a.source_name for a in group
                               if a is not lead and a.source_name != lead.source_name)
        leads.append(replace(lead, also=tuple(others), score=max(a.score for a in group)))
    return leads


def why(article: ArticleView, limit: int = 3) -> str:
    """A short explanation from the classifier's evidence: the labeling guide's category it
    matched, who (each side's actors), what (the terms of the two strongest topics), and the
    cooperation cues."""
    def terms(values: tuple[str, ...]) -> str:
        return ", ".join(dict.fromkeys(v.rstrip("*") for v in values[:limit]))

    sides = (("us", "US"), ("japan", "Japan"))
    parts = [f"category: {article.category}"] if article.category else []
    parts += [f"{label}: {terms(article.actors[side])}"
             for side, label in sides if article.actors.get(side)]
    parts += [f"{tid}: {terms(article.evidence[tid])}"
              for tid in article.topics[:2] if article.evidence.get(tid)]
    if article.cues:
        parts.append(f"cues: {terms(article.cues)}")
    return "; ".join(parts) or "matched the taxonomy"


HEADING_CHARS = 200  # a line this short without a sentence's end, before the text: a heading
SENTENCE_ENDS = (".", "!", "?", "。", "！", "？", '"', "”", "」", ")", "）", ":")
# a sentence ends at a full stop, question or exclamation mark before a space, unless the stop
# ends an initial ("U.S. officials", "J. Smith"), or at a Japanese one; not inside "$1.5"
SENTENCE = re.compile(r"(?<=[.!?])(?<!\b[A-Z]\.)\s+|(?<=[。！？])\s*")


def lead_sentences(text: str, title: str = "", sentences: int = 2, limit: int = 320) -> str:
    """The first one or two sentences of an article's text (without the headline that
    extracted text often starts with, the feed's or the page's own, nor a byline or date line
    before the first paragraph): its summary in a digest."""
    lines = text.strip().split("\n")
    while len(lines) > 1 and len(lines[0]) <= HEADING_CHARS and \
            not lines[0].rstrip().endswith(SENTENCE_ENDS) and \
            not lines[1].lstrip()[:1].islower():  # a sentence wrapped onto the next line
        lines.pop(0)
    flat = " ".join(" ".join(lines).split())
    heading = " ".join(title.split())
    if heading and flat.startswith(heading):
        flat = flat[len(heading):].lstrip(" .:-–—")
    if not flat:
        return ""
    parts = [p for p in SENTENCE.split(flat) if p][:sentences]

    def joined(pieces: list[str]) -> str:  # Japanese sentences follow each other without a space
        return "".join(p if p.endswith(("。", "！", "？")) else p + " " for p in pieces).strip()

    lead = joined(parts) if parts else flat
    while len(lead) > limit and len(parts) > 1:
        parts = parts[:-1]
        lead = joined(parts)
    return lead if len(lead) <= limit else lead[: limit - 1].rsplit(" ", 1)[0] + "…"


def _completeness(article: ArticleView) -> int:
    return article.text_length if article.text_length <= LONGEST_REPORT else 0
