"""One cycle, as numbered stages: 1 poll, 2 parse, 3 identify, 4 prefilter/fetch/extract,
5 classify, 6 archive. Failures are caught per source and per article, become state on their
rows and one log line each, and the cycle goes on."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import zip_longest
from typing import TYPE_CHECKING, Any, TypeVar

from bot.analysis import USABLE, Analyst, ArticleResult, FetchedPage, PageJob, analyse
from bot.cjk import language_of
from bot.classify import Classifier
from bot.classify.classifier import worth_fetching
from bot.config import Settings
from bot.errors import ArchiveDamaged, FetchError, HostPaused, RateLimited, SourceError
from bot.feeds import identity
from bot.feeds.fetch import FEED_ACCEPT, Fetcher, is_private_host
from bot.feeds.parse import parse_feed
from bot.feeds.schedule import (
    backing_off,
    max_age,
    next_poll_after_failure,
    next_poll_after_success,
    publishing_interval,
    should_poll,
)
from bot.models import (
    ArticleDraft,
    ExtractedText,
    FeedEntry,
    FetchResult,
    PendingArticle,
    PollOutcome,
    Source,
    SourceState,
)
from bot.store import Archive
from bot.store.rows import ADDED_SOURCE, FetchLogged, PollWrite
from bot.stories.glossary import Glossary

if TYPE_CHECKING:
    from bot.extract.pool import ExtractionPool

log = logging.getLogger("techwatch")
TRANSIENT = {"timeout", "connect", "protocol", "rate_limited", "http", "dns", "crashed", "source"}
MAX_BATCH = 64  # completed articles written in one transaction at most
T = TypeVar("T")


@dataclass
class CycleReport:
    polled: int = 0
    failed: int = 0
    not_modified: int = 0
    unchanged: int = 0
    new_items: int = 0
    updated_items: int = 0
    processed: int = 0
    deferred: int = 0
    waiting: int = 0  # sources not polled: their host asked to wait (a 429 to another feed)
    requests: int = 0
    all_new: int = 0  # polls in which every item was new (some may have been missed)
    extraction: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # failed polls by kind
    relevant: int = 0  # articles processed and judged relevant
    dropped: int = 0  # pages known by their URL only that could not be fetched: not kept
    waiting_articles: int = 0  # pages over their source's share of this cycle: the next ones'
    backing_off: tuple[datetime, ...] = ()  # when each source left out for its back-off is due

    def summary(self) -> str:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(self.extraction.items())) or "none"
        return (f"polled {self.polled} sources ({self.failed} failed, {self.not_modified} not "
                f"modified, {self.unchanged} unchanged"
                + (f"; {self.waiting} waiting for their host" if self.waiting else "")
                + f"); {self.new_items} new items, "
                f"{self.updated_items} updated; {self.processed} articles processed "
                f"({statuses}), {self.deferred} deferred"
                + (f", {self.dropped} unreachable and not kept" if self.dropped else "")
                + (f", {self.waiting_articles} left for the next cycles (a source's share is "
                   "poll.max_items_per_poll)" if self.waiting_articles else "")
                + f"; {self.requests} HTTP requests"
                + (f"; {self.skipped()}" if self.backing_off else ""))

    def skipped(self) -> str:
        """The sources left to their back-off, and until when: a user who sees "polled 0
        sources" learns why, and that `--now` polls them anyway."""
        return (f"{len(self.backing_off)} source{'s' * (len(self.backing_off) != 1)} skipped, "
                f"backing off after failures until {self.backing_off_until()} (--now polls "
                "them anyway)")

    def backing_off_until(self) -> str:
        first, last = min(self.backing_off), max(self.backing_off)
        return _clock(first) if first == last else f"{_clock(first)} to {_clock(last)}"


def _clock(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


Progress = Callable[[str, int], None]  # (stage description, items done) -> None


@dataclass(frozen=True, slots=True)
class AddOutcome:
    url: str
    status: str  # "added", "known" (already archived) or "failed"
    article_id: int | None = None
    detail: str = ""


def polled_sources(settings: Settings, archive: Archive) -> tuple[Source, ...]:
    """The config's sources and those added at run time (read each cycle: a source added
    while the daemon runs is polled on its next tick)."""
    return settings.sources + archive.added_sources(settings.poll.default_poll_minutes)


def analyst_for(settings: Settings, classifier: Classifier, glossary: Glossary | None,
                ) -> Analyst:
    """What the extraction workers judge articles with."""
    return Analyst(classifier, glossary, settings.extract.min_text_chars,
                   settings.extract.max_elements, settings.storage.keep_raw_html)


class Pipeline:
    """One cycle's orchestration. The event loop only waits: pages are extracted and judged in
    the worker processes (bot.analysis), and the archive is read and written on one thread of
    its own, the articles completed meanwhile written together (one transaction a batch)."""

    def __init__(self, settings: Settings, archive: Archive, classifier: Classifier,
                 fetcher: Fetcher, pool: Callable[[], ExtractionPool],
                 now: Callable[[], datetime],
                 glossary: Glossary | None = None, *, worker: str = "") -> None:
        self.settings = settings
        self.worker = worker  # its name on the claims it takes (bot.store.cluster)
        self.archive = archive
        self.classifier = classifier
        self.analyst = analyst_for(settings, classifier, glossary)
        self.fetcher = fetcher
        self._pool = pool  # started when the first page is due: an all-304 cycle starts none
        self.now = now
        self._article_slots = asyncio.Semaphore(settings.fetch.concurrency)
        self.closing = False  # shutdown: failures from here on are the shutdown's, not recorded
        self._local: dict[str, bool] = {}
        self._store = ThreadPoolExecutor(1, thread_name_prefix="techwatch-archive")
        self._batch: list[tuple[ArticleResult, FetchLogged | None, asyncio.Future]] = []
        self._writing: asyncio.Future | None = None
        self._claimed: set[int] = set()  # pages this worker has claimed in this cycle

    async def db(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`call(*args)` on the archive's thread (SQLite's work never stalls the loop)."""
        return await asyncio.get_running_loop().run_in_executor(
            self._store, partial(call, *args, **kwargs))

    async def close(self) -> None:
        """Wait for the writes under way (a batch being committed is finished, not cut)."""
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)
        self._store.shutdown(wait=True)

    async def run(self, *, one_shot: bool = True, force: bool = False,
                  progress: Progress | None = None) -> CycleReport:
        report = CycleReport()
        before = self.fetcher.requests  # the fetcher lives as long as the daemon
        await self.poll(report, one_shot=one_shot, force=force, progress=progress)
        await self.process_pending(report, progress=progress)
        report.requests = self.fetcher.requests - before
        return report

    # --- 1-3: poll, parse, identify -----------------------------------------------------

    async def poll(self, report: CycleReport, *, one_shot: bool, force: bool = False,
                   progress: Progress | None = None) -> None:
        now = self.now()
        states = await self.db(self._source_states)
        due = self._due(states, now, one_shot, force)
        report.backing_off = tuple(
            state.next_poll_at for source, state in states
            if source not in due and source.enabled and not (state.disabled or state.gone)
            and backing_off(state.next_poll_at, state.consecutive_errors, now))
        claimed: set[str] = set()
        if self.archive.shared and due:
            # a share of the due sources, claimed, then read again: a worker that polled one
            # meanwhile has moved it on; the rest are the other workers' (or the next tick's)
            share = -(-len(due) // max(await self.db(self.archive.alive_workers, now), 1))
            claimed = await self.db(self.archive.claim_sources, self.worker,
                                    [s.id for s in due], now, share)
            due = self._due(await self.db(self._source_states,
                                          [s for s in due if s.id in claimed]), now, one_shot,
                            force)
        try:
            await self._all([self._poll_source(s, st, report) for s, st in due.items()],
                            progress, "polling sources")
        finally:
            if claimed:
                await self.db(self.archive.release_sources, self.worker, claimed)

    @staticmethod
    def _due(states: list[tuple[Source, SourceState]], now: datetime, one_shot: bool,
             force: bool = False) -> dict[Source, SourceState]:
        return {source: state for source, state in states
                if source.enabled and not state.disabled and should_poll(
                    state.next_poll_at, state.consecutive_errors, now, one_shot=one_shot,
                    gone=state.gone, force=force)}

    def sources(self) -> tuple[Source, ...]:
        return polled_sources(self.settings, self.archive)

    def _source_states(self, sources: list[Source] | None = None,
                       ) -> list[tuple[Source, SourceState]]:
        return [(source, self.archive.source_state(source.id))
                for source in (self.sources() if sources is None else sources)]

    async def _poll_source(self, source: Source, state: SourceState, report: CycleReport) -> None:
        report.polled += 1
        try:
            await self._poll_feed(source, state, report)
        except HostPaused as e:  # another feed of its host was told to wait: not this one's fault
            report.polled -= 1
            report.waiting += 1
            await self.db(self.archive.postpone_poll, source.id, e.until)
            log.info("source %s: not polled: %s", source.id, e, extra={"source": source.id})
        except SourceError as e:
            await self._record_failure(source, state, e, report)
        except ArchiveDamaged:
            raise  # the archive's, not this source's: the cycle stops (the store says it once)
        except Exception as e:  # noqa: BLE001 -- the source boundary: a bug must not stop the cycle
            log.debug("source %s: unexpected error", source.id, exc_info=True,
                      extra={"source": source.id})
            await self._record_failure(source, state, SourceError(f"internal error: {e!r}"),
                                       report)

    async def _poll_feed(self, source: Source, state: SourceState, report: CycleReport) -> None:
        result = await self.fetcher.get(source.url, accept=FEED_ACCEPT, etag=state.etag,
                                        last_modified=state.last_modified,
                                        private_ok=await self.may_reach_private(source.id))
        now = self.now()
        body_hash = hashlib.sha256(result.body).hexdigest()
        max_age_seconds = max_age(result.headers.get("cache-control"))
        if result.not_modified or body_hash == state.body_hash:
            status = "not modified" if result.not_modified else "unchanged"
            report.not_modified += result.not_modified
            report.unchanged += not result.not_modified
            interval = publishing_interval(now, state.interval_minutes or source.poll_minutes,
                                           max_age_seconds=max_age_seconds,
                                           bounds=self._bounds(source))
            next_at = next_poll_after_success(now, interval, spread=source.id,
                                              skip_hours=state.skip_hours,
                                              skip_days=state.skip_days)
            await self.db(self._record_poll, source, PollOutcome(status, next_at), [], now)
            return
        # feedparser and charset sniffing are CPU work: off the event loop
        feed = await asyncio.to_thread(parse_feed, result.body, result.headers, result.url)
        drafts = await asyncio.to_thread(lambda: [self.draft(source, e) for e in feed.entries])
        known = await self.db(self.archive.known_keys, [k for d in drafts for k in d.keys])
        fresh = [d for d in drafts if not known.intersection(d.keys)]
        taken, left = take_newest(fresh, self.settings.poll.max_items_per_poll)
        # a feed first seen with more items than a poll takes: a backlog until the last is taken
        backlog = state.backlog or (bool(left) and not state.ever_polled)
        interval = publishing_interval(
            now, source.poll_minutes, feed.ttl_minutes,
            item_times=[e.published for e in feed.entries if e.published],
            max_age_seconds=max_age_seconds, bounds=self._bounds(source))
        # every item new since an earlier poll: the feed may have rolled past some
        all_new = bool(drafts) and state.body_hash is not None and len(fresh) == len(drafts)
        report.all_new += all_new
        next_at = next_poll_after_success(now, interval, all_new=all_new or bool(left),
                                          min_minutes=self._bounds(source)[0], spread=source.id,
                                          skip_hours=feed.skip_hours, skip_days=feed.skip_days)
        outcome = PollOutcome(
            "ok", next_at, warning=feed.warning, feed_format=feed.format,
            interval_minutes=interval, skip_hours=feed.skip_hours, skip_days=feed.skip_days,
            backlog=backlog and bool(left),
            # items left for later polls: the next one must read the feed whole again
            **({} if left else {"etag": result.headers.get("etag"),
                                "last_modified": result.headers.get("last-modified"),
                                "body_hash": body_hash}))
        if left:
            left_out = set(map(id, left))
            drafts = [d for d in drafts if id(d) not in left_out]
        written = await self.db(self._record_poll, source, outcome, drafts, now,
                                backlog=backlog)
        report.new_items += written.new
        report.updated_items += written.updated
        if written.new and source.fetch_fulltext:
            self._pool()  # its workers start while the other feeds are fetched
        if feed.warning:
            log.warning("source %s: parse: %s", source.id, feed.warning,
                        extra={"source": source.id})
        log.info("source %s: %d items, %d new%s", source.id, len(feed.entries), written.new,
                 f" ({len(left)} more left for the next polls"
                 f"{': a backlog, not alerted' if backlog else ''})" if left else "",
                 extra={"source": source.id})

    def _record_poll(self, source: Source, outcome: PollOutcome, drafts: list[ArticleDraft],
                     now: datetime, *, backlog: bool = False) -> PollWrite:
        """A poll's state and items, and its line in the fetch log (on the archive's thread)."""
        written = self.archive.record_poll(source.id, outcome, drafts, now, backlog=backlog)
        detail = outcome.error if outcome.error is not None else \
            f"{len(drafts)} items, {written.new} new" if outcome.status == "ok" else None
        self.archive.log_fetch(now, source.id, "feed", source.url, outcome.status, detail)
        return written

    def _bounds(self, source: Source) -> tuple[float, float]:
        poll = self.settings.poll
        return source.min_minutes or poll.min_minutes, source.max_minutes or poll.max_minutes

    async def _record_failure(self, source: Source, state: SourceState, error: SourceError,
                              report: CycleReport) -> None:
        if self.closing:
            return  # the next start polls it again
        now = self.now()
        errors = state.consecutive_errors + 1
        retry_at = error.until if isinstance(error, RateLimited) else None
        max_backoff = timedelta(hours=self.settings.poll.max_backoff_hours)
        next_at = next_poll_after_failure(now, source.poll_minutes, errors, max_backoff, retry_at,
                                          kind=error.kind, min_minutes=self._bounds(source)[0])
        outcome = PollOutcome(f"error: {error.kind}", next_at, errors, error=str(error))
        report.errors[error.kind] += 1
        await self.db(self._record_poll, source, outcome, [], now)
        report.failed += 1
        if error.kind == "gone":
            log.warning("source %s: %s: the feed is gone and is no longer polled; fix its url "
                        "in %s or remove it", source.id, error, self.settings.sources_file,
                        extra={"source": source.id})
            return
        log.warning("source %s: %s (retry after %s)", source.id, error,
                    next_at.strftime("%Y-%m-%d %H:%M UTC"), extra={"source": source.id})

    def draft(self, source: Source, entry: FeedEntry) -> ArticleDraft:
        url, fetch, title = entry.link, source.fetch_fulltext, entry.title
        if not url:
            url, fetch = identity.linkless_url(source.id, entry.guid, title, entry.summary), False
        elif identity.is_google_news(url):
            decoded = identity.decode_google_news(url)
            url = decoded or url
            fetch = fetch and decoded is not None  # never fetch Google's own (consent) pages
        title = identity.strip_publisher_suffix(title, entry.publisher)
        lang = language_of(f"{title}\n{entry.summary}", source.lang)  # a mixed feed's item
        if fetch and source.prefilter:
            fetch = worth_fetching(self.classifier.taxonomy, title, entry.summary, lang)
        return ArticleDraft(
            source_id=source.id, url=url, canonical_url=identity.canonical_url(url),
            keys=identity.item_keys(source.id, url, entry.guid), title=title,
            summary=entry.summary, guid=entry.guid, feed_published=entry.published,
            lang=lang, publisher=entry.publisher, fetch_fulltext=fetch, author=entry.author)

    # --- 4-6: fetch, extract, classify, archive -----------------------------------------

    async def add_url(self, url: str, report: CycleReport, *, private_ok: bool = True,
                      ) -> AddOutcome:
        """`techwatch add`: fetch, extract, classify and archive one page that came from outside
        the feeds. Idempotent (a page already archived under this URL is left alone); a page
        that cannot be fetched or is not an article is reported and not archived."""
        if not re.match(r"^https?://[^/\s]+", url, re.IGNORECASE):
            return AddOutcome(url, "failed", detail="not an http(s) URL")
        url = re.sub(r"^https?", lambda m: m.group(0).lower(), url, flags=re.IGNORECASE)
        keys = identity.item_keys(ADDED_SOURCE, url, None)
        known = await self.db(self.archive.find, keys)
        if known is not None:
            return AddOutcome(url, "known", known)
        try:
            result = await self.fetcher.get(url, private_ok=private_ok)
        except FetchError as e:
            return AddOutcome(url, "failed", detail=str(e))
        page = _page(result)
        unsaved = PendingArticle(0, ADDED_SOURCE, result.url, result.url, "", None, None,
                                 self.now(), True)
        judged = await self._judge(unsaved, page)
        extracted = judged.extracted if judged else None
        if extracted is None or extracted.status not in USABLE:
            detail = extracted.note or extracted.status if extracted else "extraction crashed"
            return AddOutcome(url, "failed", detail=f"not an article ({detail})")
        final_keys = identity.item_keys(ADDED_SOURCE, result.url, None)
        draft = ArticleDraft(source_id=ADDED_SOURCE, url=result.url,
                             canonical_url=identity.canonical_url(result.url),
                             keys=tuple(dict.fromkeys(keys + final_keys)), title=result.url,
                             summary="", guid=None, feed_published=None, lang=extracted.lang,
                             publisher=None, fetch_fulltext=True)
        (article_id, new), = await self.db(self.archive.add_drafts, [draft], self.now(),
                                           origin="added")
        if not new:  # the page redirected to an article archived under its final URL
            return AddOutcome(url, "known", article_id)
        pending, = await self.db(self.archive.pending_articles, [article_id])
        held = await self._complete(await self._analyse(pending, extracted, page), report)
        return AddOutcome(url, "added" if held == article_id else "known", held)

    async def process_pending(self, report: CycleReport, progress: Progress | None = None,
                              ) -> None:
        """Finish every archived item waiting for its page (a killed run's too) whose back-off, if
        an earlier fetch failed, has passed."""
        pending = await self.db(self.archive.pending_articles, due_by=self.now(),
                                free_for=self.worker)
        share = fair_share(pending, self.settings.poll.max_items_per_poll)
        report.waiting_articles = len(pending) - len(share)
        if any(a.fetch_fulltext for a in share):
            self._pool()
        try:
            await self._all([self._process(a, report) for a in share], progress,
                            "fetching articles")
        finally:
            if self._claimed:
                await self.db(self.archive.release_articles, self.worker, self._claimed)
                self._claimed.clear()

    async def _all(self, coroutines: list, progress: Progress | None, stage: str) -> None:
        """Run them concurrently; if this is cancelled (shutdown), so are they: none is left
        running against a closed client or pool."""
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        try:
            for done, task in enumerate(asyncio.as_completed(tasks), 1):
                await task
                if progress:
                    progress(stage, done)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _process(self, article: PendingArticle, report: CycleReport) -> None:
        async with self._article_slots:  # bounds the pages held in memory at once
            if not await self._claim(article):
                return  # another worker has it (or finished it)
            try:
                await self._fetch_and_extract(article, report)
            except ArchiveDamaged:
                raise  # the archive's, not this article's: the cycle stops
            except Exception as e:  # noqa: BLE001 -- the article boundary: a bug must not stop the cycle
                log.debug("article %s: unexpected error", article.url, exc_info=True,
                          extra={"source": article.source_id})
                await self._retry_or_keep_summary(
                    article, SourceError(f"internal error: {e!r}"), report)

    async def _fetch_and_extract(self, article: PendingArticle, report: CycleReport) -> None:
        if not article.fetch_fulltext:
            note = "summary only (the feed's link is not fetched)"
            result = await self._analyse(article, ExtractedText("feed_only", note=note))
            await self._complete(result, report)
            return
        try:
            fetched = await self.fetcher.get(
                article.url, private_ok=await self.may_reach_private(article.source_id))
        except FetchError as e:
            await self.db(self.archive.log_fetch, self.now(), article.source_id, "article",
                          article.url, f"error: {e.kind}", str(e))
            return await self._retry_or_keep_summary(article, e, report)
        result = await self._judge(article, _page(fetched))
        if result is None:
            crashed = SourceError("extract: the worker process crashed", kind="crashed")
            return await self._retry_or_keep_summary(article, crashed, report)
        extracted = result.extracted
        await self._complete(result, report, FetchLogged(
            self.now(), article.source_id, "article", article.url, extracted.status,
            extracted.note))

    async def _claim(self, article: PendingArticle) -> bool:
        """Whether this worker takes the article: on a shared archive each page is claimed as
        its turn comes, so the workers share a cycle's pages as they go (the one writer of an
        SQLite archive claims nothing)."""
        if not self.archive.shared:
            return True
        if not await self.db(self.archive.claim_articles, self.worker, [article.id], self.now()):
            return False
        self._claimed.add(article.id)
        return True

    async def may_reach_private(self, source_id: str) -> bool:
        """Whether a source's requests (its feed's, its articles', every redirect hop) may reach
        private and loopback addresses: decided once a run (see source_may_reach_private)."""
        if source_id not in self._local:
            source = next((s for s in self.sources() if s.id == source_id), None)
            self._local[source_id] = source is not None and \
                await source_may_reach_private(source, self.settings.slack.allow_private_sources)
        return self._local[source_id]

    async def _retry_or_keep_summary(self, article: PendingArticle, error: SourceError,
                                     report: CycleReport) -> None:
        """A transient failure waits for the next cycle (a host's Retry-After costs no attempt);
        after `max_article_attempts`, or a permanent failure, the feed summary is kept."""
        if self.closing:
            return  # stays pending, no attempt counted: the next start fetches it again
        counts = error.kind != "rate_limited"
        if error.kind in TRANSIENT and \
                article.attempts + counts < self.settings.fetch.max_article_attempts:
            # the host's own Retry-After, else 1, 4, 16 ... minutes (article_retry_minutes):
            # a site down for a while is not spent in three ticks
            retry_at = getattr(error, "until", None) or self.now() + timedelta(
                minutes=self.settings.fetch.article_retry_minutes * 4 ** article.attempts)
            await self.db(self.archive.retry_later, article.id, str(error), retry_at=retry_at,
                          count_attempt=counts)
            report.deferred += 1
            log.warning("article %s: %s (will retry after %s UTC)", article.url, error,
                        f"{retry_at:%H:%M}", extra={"source": article.source_id})
            return
        if article.origin == "backfill" and not article.summary.strip():
            # known by its URL only (a sitemap's, read once): an empty record would only
            # clutter search, counts and exports
            log.warning("article %s: %s (nothing to keep: not archived)", article.url, error,
                        extra={"source": article.source_id})
            await self.db(self.archive.forget_article, article.id)
            report.dropped += 1
            return
        status = "blocked" if error.kind in ("blocked", "private_address") else "feed_only"
        log.warning("article %s: %s (keeping the feed summary)", article.url, error,
                    extra={"source": article.source_id})
        result = await self._analyse(article, ExtractedText(status, note=str(error)))
        await self._complete(result, report)

    async def _judge(self, article: PendingArticle, page: FetchedPage) -> ArticleResult | None:
        """The article judged from its page in a worker; None when the worker died of something
        that is not the page's fault (it is tried again)."""
        from bot.extract.pool import ExtractionTimeout

        try:
            return await self._pool().run(PageJob(article, page, self.now()))
        except ExtractionTimeout as e:
            return await self._analyse(article, ExtractedText("too_large", note=str(e)), page)
        except Exception as e:  # noqa: BLE001 -- a hostile page must not stop the cycle
            extracted = ExtractedText("not_article",
                                      note=f"extract: failed ({type(e).__name__}: {e})")
            return await self._analyse(article, extracted, page)

    async def _analyse(self, article: PendingArticle, extracted: ExtractedText,
                       page: FetchedPage | None = None) -> ArticleResult:
        """An article judged here, not in a worker (its feed summary, a page that could not be
        extracted): on a thread, so that the loop is not held."""
        return await asyncio.to_thread(analyse, self.analyst, article, extracted, page)

    async def _complete(self, result: ArticleResult, report: CycleReport,
                        fetched: FetchLogged | None = None) -> int:
        """Archive a judged article (in the next batch); the id of the article that holds its
        page (another one when the page was archived already under another link)."""
        article = result.article
        same_page = await self._write(result, fetched)
        if same_page == article.id:  # another link to its page completed it in this poll
            return same_page
        report.processed += 1
        if same_page is not None:  # a link to an archived page: stored once, found by both
            log.info("article %s is archived article %d (the same page)", article.url, same_page,
                     extra={"source": article.source_id})
            for waiting in await self.db(self.archive.pending_articles, [same_page]):
                judged = await self._analyse(waiting, result.extracted)
                await self._complete(replace(judged, raw=result.raw,
                                             extractor_version=result.extractor_version), report)
            return same_page
        report.relevant += result.classification.relevant
        report.extraction[result.extracted.status] += 1
        return article.id

    async def _write(self, result: ArticleResult, fetched: FetchLogged | None) -> int | None:
        """Queue an article for the next batch; what `Archive.complete_article` says of it once
        its batch is committed. Whatever completes while a batch is written goes in the next."""
        future = asyncio.get_running_loop().create_future()
        self._batch.append((result, fetched, future))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.ensure_future(self._write_batches())
        return await future

    async def _write_batches(self) -> None:
        while self._batch:
            batch, self._batch = self._batch[:MAX_BATCH], self._batch[MAX_BATCH:]
            try:
                outcomes = await self.db(self._write_batch, batch)
            except Exception:  # noqa: BLE001 -- one article's problem costs only itself
                outcomes = None
            for i, (_, _, future) in enumerate(batch):
                if future.done():
                    continue
                if outcomes is not None:
                    future.set_result(outcomes[i])
                    continue
                try:
                    future.set_result((await self.db(self._write_batch, [batch[i]]))[0])
                except Exception as e:  # noqa: BLE001 -- handed to the article's own task
                    future.set_exception(e)

    def _write_batch(self, batch: list[tuple[ArticleResult, FetchLogged | None, Any]],
                     ) -> list[int | None]:
        return self.archive.complete_articles(
            [result for result, _, _ in batch], self.now(), self.settings.stories,
            [fetched for _, fetched, _ in batch if fetched is not None])


def take_newest(drafts: list[ArticleDraft], most: int,
                ) -> tuple[list[ArticleDraft], list[ArticleDraft]]:
    """A poll's share of a feed's new items, the newest first (undated ones after the dated, in
    feed order), and the rest, left for the next polls."""
    if len(drafts) <= most:
        return drafts, []
    oldest = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(drafts, key=lambda d: d.feed_published or oldest, reverse=True)
    return ordered[:most], ordered[most:]


def fair_share(pending: list[PendingArticle], most: int) -> list[PendingArticle]:
    """A cycle's pages to fetch: at most `most` of each source, taken in turns across sources
    (one huge feed's backlog does not hold up another source's news); the rest wait for the
    next cycles."""
    by_source: dict[str, list[PendingArticle]] = {}
    for article in pending:
        by_source.setdefault(article.source_id, []).append(article)
    turns = zip_longest(*(articles[:most] for articles in by_source.values()))
    return [article for turn in turns for article in turn if article is not None]


def _page(result: FetchResult) -> FetchedPage:
    return FetchedPage(result.url, result.status, result.content_type, result.body,
                       _charset(result.headers.get("content-type", "")))


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


@dataclass(frozen=True, slots=True)
class SourceReport:
    """The result of fetching one source once, for `techwatch sources check`."""

    source_id: str
    ok: bool
    status: str
    format: str = ""
    items: int = 0
    detail: str = ""


async def source_may_reach_private(source: Source, allow_private_sources: bool) -> bool:
    """A feed the operator configured (or added in the terminal) at a private or loopback
    address may reach such addresses (an intranet feed, a local test site); a feed at a public
    address may not, nor one added from Slack unless `[slack] allow_private_sources`."""
    if source.from_slack:
        return allow_private_sources
    return await is_private_host(source.url)


async def check_source(fetcher: Fetcher, source: Source, allow_private_sources: bool,
                       ) -> SourceReport:
    """Fetch and parse a source once, unconditionally, changing nothing."""
    try:
        result = await fetcher.get(source.url, accept=FEED_ACCEPT,
                                   private_ok=await source_may_reach_private(source,
                                                                         allow_private_sources))
        feed = await asyncio.to_thread(parse_feed, result.body, result.headers, result.url)
    except SourceError as e:
        return SourceReport(source.id, False, f"error: {e.kind}", detail=str(e))
    detail = feed.warning or (f"redirected to {result.url}" if result.url != source.url else "")
    return SourceReport(source.id, True, f"HTTP {result.status}", feed.format, len(feed.entries),
                        detail)
