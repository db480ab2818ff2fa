"""What each page shows, read from the archive (bot.store.web, and the store's own reads that
`techwatch status` and `stats` use) into plain dataclasses. Read only, each read bounded."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.digest import Digest, build_digest, lead_sentences, stories, why
from bot.models import ArticleView, SlackPost
from bot.store import web as store
from bot.store.sources import source_health

if TYPE_CHECKING:
    from bot.app import App
    from bot.stats import Stats

log = logging.getLogger("techwatch")
FRONT_ARTICLES = 1000  # the front page reads at most this many articles of its period
FRONT_STORIES = 50  # shown in full; the rest a line each (at most FRONT_MORE)
FRONT_MORE = 100
FALLBACKS = ("1d", "7d", "30d")  # the front page without `since`: the first period with news
OUTLETS = 100  # a story page lists this many reports; "+N more" says the rest
TREND_WEEKS = 12
TREND_SECONDS = 60.0  # the trends page's chart and numbers are read once a minute at most


@dataclass(frozen=True, slots=True)
class FrontPage:
    digest: Digest
    period: str  # "in the last day", "since 2026-11-01 00:00 UTC"
    since: str  # the `since` value it shows ("1d")
    widened: bool  # nothing in the last day: a longer period was chosen


@dataclass(frozen=True, slots=True)
class StoryPage:
    id: int
    lead: ArticleView  # with the story's best score, its other outlets in `also`
    summary: str  # the lead's first sentences
    why: str
    topics: tuple[tuple[str, str], ...]  # (id, name), the story's, strongest first
    reports: tuple[ArticleView, ...]  # first seen first, at most OUTLETS
    total: int  # reports archived in the story
    messages: tuple[SlackPost, ...] = ()  # the Slack messages it went out in, newest first


@dataclass(frozen=True, slots=True)
class RawInfo:
    fetched_url: str
    http_status: int | None
    content_type: str | None
    fetched_at: datetime
    size: int  # bytes as stored (compressed)


@dataclass(frozen=True, slots=True)
class ArticlePage:
    view: ArticleView
    story_id: int
    text: str  # the extracted text ("" when none: then `summary` is what there is)
    summary: str
    author: str | None
    date_source: str | None
    state: str  # pending, done, failed...
    extraction_note: str | None
    why: str
    topics: tuple[tuple[str, str], ...]
    raw: RawInfo | None


@dataclass(frozen=True, slots=True)
class SourceLine:
    id: str
    name: str
    url: str
    health: str  # ok, failing, gone, disabled
    status: str  # the last poll's status, or "failing since ..."
    errors: int
    last_polled: datetime | None
    last_new_item: datetime | None
    next_poll: datetime | None  # None: not polled (disabled, gone)
    problem: str


def front_page(app: App, since_value: str | None, start: datetime | None, label: str,
               ) -> FrontPage:
    """The digest's view of a period: relevant stories grouped by topic, best first. Without a
    period, the last day, or the first longer one that has news."""
    now = app.now()
    if start is not None:
        return FrontPage(_digest(app, start, now), label, since_value or "", False)
    from bot.web.query import parse_period

    for i, value in enumerate(FALLBACKS):
        start, label = parse_period(value, now)
        digest = _digest(app, start, now)
        if digest.total or i == len(FALLBACKS) - 1:
            return FrontPage(digest, label, value, i > 0)
    raise AssertionError("unreachable")


def _digest(app: App, start: datetime, now: datetime) -> Digest:
    max_age = timedelta(days=app.settings.digest.max_age_days)
    articles = store.recent_relevant(app.archive.engine, first_seen_after=start,
                                     published_after=min(start, now - max_age),
                                     limit=FRONT_ARTICLES)
    digest = build_digest(articles, app.classifier.taxonomy, start, now,
                          app.settings.stories.preferred_sources, limit=FRONT_STORIES)
    return replace(digest, more=digest.more[:FRONT_MORE])


def story_page(app: App, story_id: int) -> StoryPage | None:
    reports, total = store.story_articles(app.archive.engine, story_id, OUTLETS)
    if not reports:
        return None
    lead = stories(reports, app.settings.stories.preferred_sources)[0]
    return StoryPage(story_id, lead, lead_sentences(lead.text_head, lead.title), why(lead),
                     topic_names(app, lead.topics), tuple(reports), total,
                     tuple(app.archive.story_messages(story_id)))


def story_of(app: App, article_id: int) -> int | None:
    return store.story_of(app.archive.engine, article_id)


def article_page(app: App, article_id: int) -> ArticlePage | None:
    from bot.export import evidence_summary
    from bot.store.rows import article_view

    found = store.article_record(app.archive.engine, article_id)
    if found is None:
        return None
    row, kept = found
    view = article_view(row)
    raw = None if kept is None else RawInfo(kept.fetched_url, kept.http_status, kept.content_type,
                                            kept.fetched_at, int(kept.size or 0))
    return ArticlePage(view, view.story_id, row.text or "", row.summary or "", row.author,
                       row.date_source, row.state, row.extraction_note,
                       evidence_summary(row), topic_names(app, view.topics), raw)


def raw_page(app: App, article_id: int) -> tuple[bytes, str | None] | None:
    return store.raw_page(app.archive.engine, article_id)


def source_lines(app: App) -> list[SourceLine]:
    """Every source as `techwatch status` shows it."""
    lines = []
    for r in app.archive.source_rows():
        health = source_health(r)
        status = f"failing since {r.failing_since:%Y-%m-%d %H:%M}" if health == "failing" \
            else (r.last_status if health == "ok" else health)
        lines.append(SourceLine(
            r.id, r.name, r.url, health, status, r.consecutive_errors, r.last_polled_at,
            r.last_new_item_at, r.next_poll_at if health in ("ok", "failing") else None,
            _clean(r.last_error or r.warning or "")))
    return lines


def _clean(text: str) -> str:
    from bot.untrusted import CONTROL

    return CONTROL.sub("", text)[:300]


def topic_names(app: App, topics: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    taxonomy = app.classifier.taxonomy
    return tuple((t, taxonomy.name(t)) for t in topics)


@dataclass(frozen=True, slots=True)
class Trends:
    stats: Stats
    svg: str  # the `stats` chart as an inline <svg> element (bot.web.chart)


class TrendCache:
    """The trends page's numbers and chart: they count weeks of articles (and drawing takes
    half a second) and change by the hour, not by the request. The first reader waits for
    them (or `warm` made them before); after TREND_SECONDS, the next reader gets them as they
    were while a thread reads them anew."""

    def __init__(self, app: App, clock: Callable[[], float] = time.monotonic) -> None:
        self._app, self._clock = app, clock
        self._lock = threading.Lock()
        self._made: tuple[float, Trends] | None = None
        self._refreshing = False

    def get(self) -> Trends:
        with self._lock:
            made, stale = self._made, self._made is None or \
                self._clock() - self._made[0] > TREND_SECONDS
            if made is not None and stale and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="web-trends", daemon=True).start()
        if made is None:
            return self._refresh()
        return made[1]

    def warm(self) -> None:
        """Make them now, on a thread, so that no reader waits."""
        threading.Thread(target=self._refresh, name="web-trends", daemon=True).start()

    def _refresh(self) -> Trends:
        made = None
        try:
            made = trends(self._app)
            return made
        except Exception as e:  # noqa: BLE001 -- the page says so; the next reader tries again
            log.warning("web: the trends could not be read (%s: %s)", type(e).__name__,
                        str(e)[:200])
            raise
        finally:
            with self._lock:
                self._refreshing = False
                if made is not None:
                    self._made = (self._clock(), made)


def trends(app: App) -> Trends:
    from bot.stats import weekly_stats
    from bot.web.chart import svg_chart

    stats = weekly_stats(app, TREND_WEEKS)
    return Trends(stats, svg_chart(stats))


def as_dict(view: ArticleView) -> dict[str, Any]:
    """An article as the JSON API gives it (the CLI's `search --json` fields)."""
    return {"id": view.id, "title": view.title, "url": view.url, "source": view.source_name,
            "source_id": view.source_id,
            "published": view.published.isoformat() if view.published else None,
            "first_seen": view.first_seen.isoformat(), "lang": view.lang,
            "relevant": view.relevant, "score": round(view.score, 4), "topics": list(view.topics),
            "story_id": view.story_id}
