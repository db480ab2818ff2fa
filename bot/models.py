"""Plain values that flow between the stages: Source -> FetchResult -> ParsedFeed -> ... -> Article.

All datetimes are timezone-aware UTC. Collections are tuples so values can cross tasks and processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    url: str
    name: str
    lang: str = "en"
    poll_minutes: float = 60
    min_minutes: float | None = None  # bounds of the adaptive interval; None: [poll] settings
    max_minutes: float | None = None
    enabled: bool = True
    fetch_fulltext: bool = True
    prefilter: bool = False
    from_slack: bool = False  # added with /techwatch add-source (see Pipeline.may_reach_private)


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the database remembers about polling one source."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    consecutive_errors: int = 0
    next_poll_at: datetime | None = None
    gone: bool = False  # the feed answered 410 Gone
    interval_minutes: float | None = None  # the adaptive interval of the last poll with items
    skip_hours: tuple[int, ...] = ()
    skip_days: tuple[str, ...] = ()
    disabled: bool = False  # by a user (`techwatch sources disable`)
    failing_since: datetime | None = None
    ever_polled: bool = False  # a poll of it has succeeded once
    backlog: bool = False  # its items are being taken as a backlog (see PollOutcome.backlog)


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source in a run of failures (`since` its first) or just out of one."""

    id: str
    name: str
    since: datetime
    errors: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # final URL after redirects
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    requests: int = 1

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True, slots=True)
class FeedEntry:
    title: str
    link: str  # "" when the entry has none: then it is kept summary-only
    guid: str | None = None
    summary: str = ""
    published: datetime | None = None
    author: str | None = None
    publisher: str | None = None  # the original outlet, when an aggregator relays the item


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    format: str  # feedparser's version id, e.g. "rss20", "atom10"
    entries: tuple[FeedEntry, ...]
    warning: str | None = None  # feedparser's "bozo" complaint, if any
    ttl_minutes: int | None = None
    skip_hours: tuple[int, ...] = ()  # RSS <skipHours>: GMT hours the feed asks not to be read
    skip_days: tuple[str, ...] = ()  # RSS <skipDays>: lower-case weekday names
    title: str = ""  # the feed's own title


@dataclass(frozen=True, slots=True)
class ExtractedText:
    """What the extractor made of one page. `status` is one of EXTRACTION_STATUSES."""

    status: str
    text: str = ""
    title: str | None = None
    author: str | None = None
    page_date: datetime | None = None
    site_name: str | None = None
    lang: str | None = None
    canonical_url: str | None = None
    note: str | None = None


EXTRACTION_STATUSES = (
    "full", "teaser", "paywall", "blocked", "consent", "too_short", "too_large", "not_article",
    "feed_only",
)


@dataclass(frozen=True, slots=True)
class Classification:
    """The judgement on one text, with what drove it."""

    relevant: bool
    score: float
    topics: tuple[str, ...]
    evidence: dict[str, tuple[str, ...]]  # topic id -> the terms that drove it
    actors: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "us"/"japan" -> named
    cues: tuple[str, ...] = ()  # bilateral phrases and cooperation cues found
    # the labeling guide's category: a TRUE one when relevant ("investment"), else a FALSE one
    category: str | None = None


@dataclass(frozen=True, slots=True)
class PendingArticle:
    """An archived item still waiting for its page to be fetched and extracted."""

    id: int
    source_id: str
    url: str
    title: str
    summary: str
    lang: str | None
    feed_published: datetime | None
    first_seen: datetime
    fetch_fulltext: bool
    attempts: int = 0
    origin: str | None = None  # None: a feed; "added" (techwatch add), "backfill", "backlog"


@dataclass(frozen=True, slots=True)
class ArticleView:
    """An archived article as readers see it (digest, search)."""

    id: int
    source_id: str
    source_name: str
    url: str
    title: str
    lang: str | None
    published: datetime | None
    first_seen: datetime
    score: float
    relevant: bool
    topics: tuple[str, ...]
    evidence: dict[str, tuple[str, ...]]
    extraction_status: str
    actors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cues: tuple[str, ...] = ()
    category: str | None = None  # the labeling guide's category (Classification.category)
    snippet: str = ""
    text_head: str = ""  # the start of the text (or the feed summary), for a lead
    text_length: int = 0  # characters of text (or summary): how complete a report it is
    story_id: int = 0
    also: tuple[str, ...] = ()  # other outlets that reported the same story
    members: int = 1  # articles archived in its story


@dataclass(frozen=True, slots=True)
class StoryGrowth:
    """A story a channel's digests have shown, and its articles since that none of them took
    (most often another outlet's report): what an "updated: +Outlet" line is made from."""

    story_id: int
    shown: tuple[ArticleView, ...]  # the articles the channel's digests took, by id
    new: tuple[ArticleView, ...]  # not taken yet, first seen first
    digest_id: int  # the channel's latest digest that named the story
    digest_at: datetime  # when that digest was planned (its messages' created_at)


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """A feed item ready to be archived, with every key it may be known by."""

    source_id: str
    url: str
    canonical_url: str
    keys: tuple[str, ...]
    title: str
    summary: str
    guid: str | None
    feed_published: datetime | None
    lang: str | None
    publisher: str | None
    fetch_fulltext: bool
    author: str | None = None


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll of one source changes in its row (success or failure)."""

    status: str  # "ok", "not modified", "unchanged", or "error: <kind>"
    next_poll_at: datetime
    consecutive_errors: int = 0
    error: str | None = None
    warning: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    feed_format: str | None = None
    interval_minutes: float | None = None  # None: keep the one stored
    skip_hours: tuple[int, ...] | None = None  # None: keep the ones stored
    skip_days: tuple[str, ...] | None = None
    # a feed first seen with more new items than a poll takes, items still left: the items of
    # its polls are a backlog (archived, never alerted) until a poll takes the last of them
    backlog: bool = False


DIGEST_EDIT = "digest_edit"  # a delivery that edits a digest message (chat.update), not a post


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One message to post: the notification text and its Block Kit blocks (as dicts)."""

    text: str
    blocks: tuple[dict, ...]


@dataclass(frozen=True, slots=True)
class Delivery:
    """A row of the delivery ledger: a message to a channel, posted exactly once."""

    key: str
    channel: str
    kind: str
    message: SlackMessage
    article_id: int | None = None
    parent_key: str | None = None  # a thread reply: the message it answers
    status: str = "pending"
    id: int = 0
    ts: str | None = None
    attempts: int = 0
    created_at: datetime | None = None
    article_ids: tuple[int, ...] = ()  # a digest part's stories: given back if it is refused


@dataclass(frozen=True, slots=True)
class SlackPost:
    """A Slack message a story went out in (a digest part, an alert, an alert's reply), as its
    page on the web links it."""

    channel: str
    kind: str  # digest, alert, alert_reply
    permalink: str | None  # None until Slack gave it (chat.getPermalink, a later run fills it)
    posted_at: datetime


@dataclass(frozen=True, slots=True)
class ChannelHold:
    """A channel Slack refused (not found, archived, bot not invited): its messages wait, and it
    is tried again at `retry_at`, less often each time."""

    channel: str
    error: str
    since: datetime
    tries: int
    retry_at: datetime


@dataclass(frozen=True, slots=True)
class WatchHit:
    """Which watch an alerted story matched: its label (the id made in Slack, or "config"), its
    query and the words it matched, marked in the alert's lead."""

    label: str
    query: str
    words: tuple[str, ...] = ()
