"""Delivery of a cycle's alerts and the due digests: planned in the ledger, then posted to
Slack, or shown on the terminal when no SLACK_BOT_TOKEN is set (the same content)."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.app import App
from bot.config import AlertChannel, DigestChannel
from bot.digest import Digest, build_digest, stories
from bot.errors import TechwatchError
from bot.feeds.reach import sources_notice
from bot.lock import posting
from bot.models import DIGEST_EDIT, ArticleView, Delivery, WatchHit
from bot.notify.blocks import digest_messages, edited_story, plain_text
from bot.notify.plan import (
    StoryChanges,
    alert_deliveries,
    alert_key,
    chart_delivery,
    digest_deliveries,
    manual_digest_key,
    ops_deliveries,
    ops_failing_key,
    owed_digest,
    settled,
    story_changes,
)
from bot.notify.slack import DeliveryReport, SlackPoster, build_client
from bot.store.dialect import POSTING_LOCK
from bot.store.sources import source_health
from bot.watches import SavedWatch
from bot.watches.matcher import Matcher, compile_watches

log = logging.getLogger("techwatch")
TERMINAL_CHANNEL = "terminal"  # the digest ledger's name for the terminal
POSTING_WAIT = 120.0  # s a worker waits for another to finish posting (one message a second)


@dataclass
class Outcome:
    planned: int = 0
    digests: list[str] = field(default_factory=list)  # channels that got one
    report: DeliveryReport = field(default_factory=DeliveryReport)


def deliver(app: App, *, alerts: bool = True, digests: bool = True, scheduled: bool = True,
            channels: tuple[str, ...] = (), always: bool = False, dry_run: bool = False,
            extra: tuple[DigestChannel, ...] = ()) -> Outcome:
    """Plan what is due, then post it (or print it): alerts and ops notices, and each digest
    whose time has come (within `digest.grace_hours`: a digest missed by longer is skipped, it
    would be stale). `scheduled=False` is `techwatch digest`: a digest now for each channel (or
    those named) when there is anything new; `extra` digests are for channels the config does
    not name (`/techwatch digest` there). Planning and posting hold the posting lock together:
    two requests at once never plan the same digest twice."""
    with posting(app.settings.storage.database), \
            app.archive.exclusively(POSTING_LOCK, wait=POSTING_WAIT) as mine:
        if not mine:  # never two posters on one ledger, of any worker
            raise TechwatchError("another techwatch worker is posting to Slack; the next round "
                                 "sends what is left")
        return _plan_and_post(app, alerts=alerts, digests=digests, scheduled=scheduled,
                              channels=channels, always=always, dry_run=dry_run, extra=extra)


def _plan_and_post(app: App, *, alerts: bool, digests: bool, scheduled: bool,
                   channels: tuple[str, ...], always: bool, dry_run: bool,
                   extra: tuple[DigestChannel, ...]) -> Outcome:
    now = app.now()
    outcome = Outcome()
    planned: list[tuple[list[Delivery], tuple[str, list[int]] | None]] = []
    edits: list[tuple[str, StoryChanges]] = []
    if alerts:
        planned += [(plan, None) for plan in _plan_alerts(app, now)]
        if app.settings.slack.ops_channel:
            planned.append((_plan_ops(app, now), None))
        # each poll, a recent digest's message is edited when a story of it grew
        edits = [(d.channel, changes) for d in app.settings.slack.digests + extra
                 if not channels or d.channel in channels
                 if (changes := channel_story_changes(app, d, now)).edits or changes.settled]
    grace = timedelta(hours=app.settings.digest.grace_hours)
    for digest in app.settings.slack.digests + extra if digests else ():
        if channels and digest.channel not in channels:
            continue
        due = owed_digest(now, digest.time, ZoneInfo(digest.timezone),
                          app.archive.last_digest(digest.channel), grace)
        if scheduled and due is None:
            continue
        key = (f"digest:{digest.channel}:{due.isoformat()}" if scheduled and due
               else manual_digest_key(digest.channel, now))
        allow_empty = always or (scheduled and app.settings.slack.empty_digest_note)
        plan = _plan_digest(app, digest, key, now, allow_empty=allow_empty)
        if plan is not None:
            planned.append(plan)
            outcome.digests.append(digest.channel)
    if dry_run:
        for deliveries, _ in planned + [(list(c.edits), None) for _, c in edits]:
            for d in deliveries:
                if d.status == "pending":
                    print(json.dumps({"channel": d.channel, "key": d.key, "text": d.message.text,
                                      "blocks": list(d.message.blocks)}, ensure_ascii=False))
        return outcome
    for channel, changes in edits:  # before the digests: an edit comes after its message
        outcome.planned += app.archive.plan_story_updates(channel, list(changes.edits),
                                                          changes.settled, now)
    for deliveries, digest in planned:
        outcome.planned += app.archive.plan(deliveries, now, digest=digest)
    # a digest asked for now is tried now, even in a channel Slack refused before
    asked = frozenset(outcome.digests) if not scheduled else frozenset()
    outcome.report = _post(app, asked) if app.slack_token else _print(app)
    return outcome


def terminal_digest_owed(app: App) -> bool:
    """Whether the terminal's daily digest came due while the bot was down (within the grace)."""
    digest = app.settings.digest
    return owed_digest(app.now(), digest.time, ZoneInfo(digest.timezone),
                       app.archive.last_digest(TERMINAL_CHANNEL),
                       timedelta(hours=digest.grace_hours)) is not None


def alert_subscriptions(app: App) -> tuple[AlertChannel, ...]:
    """The config's [[slack.alerts]] and the subscriptions made in Slack ("*" is every topic),
    each for news first seen from when it was made: "from the next poll", as its reply says."""
    made = tuple(AlertChannel(channel, () if topic == "*" else (topic,), min_score, since)
                 for channel, topic, min_score, since in app.archive.subscriptions())
    return app.settings.slack.alerts + made


def _plan_alerts(app: App, now: datetime) -> list[list[Delivery]]:
    """Per channel (all its subscriptions and watches together: one hourly cap, one alert a
    story), the new stories to alert, the later outlets of alerted ones for their threads, and
    those past the cap."""
    slack = app.settings.slack
    by_channel: dict[str, list[AlertChannel]] = {}
    for subscription in alert_subscriptions(app):
        by_channel.setdefault(subscription.channel, []).append(subscription)
    watches = channel_watches(app)
    plans = []
    for channel in {**by_channel, **watches}:
        published_after = now - timedelta(hours=slack.alert_max_age_hours)
        found = {a.id: a for s in by_channel.get(channel, ()) for a in app.archive.alert_candidates(
            channel, min_score=s.min_score, topics=s.topics, first_seen_from=s.since,
            published_after=published_after)}
        watched = watch_hits(app, channel, watches.get(channel, ()), published_after, now)
        found |= {a.id: a for a, _ in watched.values()}
        hits = {article_id: hit for article_id, (_, hit) in watched.items()}
        candidates = sorted(found.values(), key=lambda a: (a.first_seen, a.id))
        if not candidates:
            continue
        new, replies = [], []
        for lead in stories(candidates, app.settings.stories.preferred_sources):
            previous = app.archive.delivery_record(alert_key(channel, lead.story_id))
            members = [a for a in candidates if a.story_id == lead.story_id]
            if previous == ("alert", "pending") or previous == ("alert", "sent"):
                named = app.archive.alerted_outlets(channel, lead.story_id)
                for member in members:  # the story was alerted: new outlets go in its thread
                    if member.source_name in named:  # one it named: no "also reported by" it
                        plans.append([settled(channel, "alert_member", member)])
                    else:
                        named.add(member.source_name)
                        replies.append(member)
            elif previous:  # rolled into the digest, or its alert expired: no thread to join
                plans.append([settled(channel, "alert_member", m) for m in members])
            else:
                new.append((lead, [m for m in members if m.id != lead.id]))
        room = slack.alert_hourly_cap - app.archive.alerts_since(
            channel, now - timedelta(hours=1))
        new.sort(key=lambda story: -story[0].score)  # over the cap, the best go first
        digests = [d for d in slack.digests if d.channel == channel]
        plans.append(alert_deliveries(channel, new, replies, room, UTC, now,
                                      in_digest=_taken_by(app, digests, now), watched=hits,
                                      web=app.settings.web.public_url))
    return plans


def channel_watches(app: App) -> dict[str, list[SavedWatch]]:
    """Each channel's watches: the config's [[slack.watches]] and those made in Slack, each for
    news first seen from when it was made."""
    found: dict[str, list[SavedWatch]] = {}
    for i, w in enumerate(app.settings.slack.watches):
        found.setdefault(w.channel, []).append(SavedWatch(
            f"config:{i}", "config", w.query, w.relevant_only, w.topics, w.lang, None))
    for w in app.archive.watches():
        found.setdefault(w.channel, []).append(SavedWatch(
            f"slack:{w.id}", str(w.id), w.query, w.relevant_only, tuple(w.topics or ()),
            w.lang or "", w.created_at))
    return found


def watch_hits(app: App, channel: str, watches: Sequence[SavedWatch], published_after: datetime,
               now: datetime) -> dict[int, tuple[ArticleView, WatchHit]]:
    """The channel's recent unalerted articles its watches match (by article id, with the
    first watch that matched): the queries compiled once, tested on those articles only. Every
    match is recorded for `/techwatch watches`."""
    if not watches:
        return {}
    matcher = _matcher(tuple((i, w.query) for i, w in enumerate(watches)))
    since = min((w.since for w in watches if w.since), default=None)
    since = None if any(w.since is None for w in watches) else since
    hits: dict[int, tuple[ArticleView, WatchHit]] = {}
    matched = []
    mark = app.watch_marks.get(channel)
    for article, text, completed in app.archive.watch_candidates(
            channel, published_after=published_after, first_seen_from=since,
            completed_from=mark, matched_by=tuple(w.key for w in watches)):
        mark = max(mark or completed, completed)
        for index, words in matcher.match(article.title, text):
            w = watches[index]
            if not w.admits(article):
                continue
            matched.append((w.key, article.id))
            hits.setdefault(article.id, (article, WatchHit(w.label, w.query, words)))
    app.archive.record_watch_matches(matched, now)
    if mark is not None:
        app.watch_marks[channel] = mark
    return hits


@functools.lru_cache(maxsize=64)
def _matcher(queries: tuple[tuple[int, str], ...]) -> Matcher:
    return compile_watches(queries)


def _plan_ops(app: App, now: datetime) -> list[Delivery]:
    channel = app.settings.slack.ops_channel
    failing = app.archive.failing_sources(app.settings.slack.ops_after_failures)
    recovered = [s for s in app.archive.recovered_sources()
                 if app.archive.delivery_record(ops_failing_key(channel, s.id, s.since))]
    return ops_deliveries(channel, failing, recovered, now)


def digest_min_score(app: App, digest: DigestChannel) -> float:
    return digest.min_score if digest.min_score is not None \
        else app.settings.classify.relevance_threshold


def carries(app: App, digest: DigestChannel, article: ArticleView, now: datetime) -> bool:
    """Whether this digest will take the article: its topics, its minimum score, and not too
    old (the conditions of `Archive.digest_articles`)."""
    oldest = now - timedelta(days=app.settings.digest.max_age_days)
    return (not digest.topics or bool(set(digest.topics) & set(article.topics))) and \
        article.score >= digest_min_score(app, digest) and \
        (article.published is None or article.published >= oldest)


def _taken_by(app: App, digests: list[DigestChannel], now: datetime,
              ) -> Callable[[ArticleView], bool]:
    return lambda article: any(carries(app, d, article, now) for d in digests)


def _plan_digest(app: App, digest: DigestChannel, key: str, now: datetime, *, allow_empty: bool,
                 ) -> tuple[list[Delivery], tuple[str, list[int]]] | None:
    min_score = digest_min_score(app, digest)
    content, articles = digest_content(app, digest.channel, now, min_score=min_score,
                                       limit=digest.max_stories, topics=digest.topics)
    if not articles and not content.updated and not (allow_empty or content.notice):
        return None  # (a digest that would say no source was reached goes out)
    messages = digest_messages(content, ZoneInfo(digest.timezone), app.settings.web.public_url)
    deliveries = digest_deliveries(digest.channel, key, messages, content.updates,
                                   story_members(content, articles))
    if digest.monday_chart and now.astimezone(ZoneInfo(digest.timezone)).weekday() == 0:
        deliveries.append(chart_delivery(digest.channel, key))
    return deliveries, (digest.channel, taken_ids(content, articles))


def story_members(content: Digest, articles: list[ArticleView]) -> dict[int, list[int]]:
    """Every article of each story the digest carries, by its lead's id (its block's)."""
    by_story: dict[int, list[int]] = {}
    for a in articles:
        by_story.setdefault(a.story_id or a.id, []).append(a.id)
    leads = [*(a for s in content.sections for a in s.articles), *content.more]
    return {lead.id: by_story.get(lead.story_id or lead.id, [lead.id]) for lead in leads}


def taken_ids(content: Digest, articles: list[ArticleView]) -> list[int]:
    """What a digest takes: its stories' articles and those its "updated" lines name."""
    return [a.id for a in articles] + list(content.update_ids)


def channel_story_changes(app: App, digest: DigestChannel, now: datetime) -> StoryChanges:
    """The channel's stories that grew since its digests showed them: edits of its recent
    digest messages (within `digest.edit_hours`), and the updates left for its next digest."""
    return _story_changes(app, digest.channel, now, min_score=digest_min_score(app, digest),
                          topics=digest.topics)


def _story_changes(app: App, channel: str, now: datetime, *, min_score: float,
                   topics: tuple[str, ...]) -> StoryChanges:
    settings = app.settings.digest
    growth = app.archive.story_growth(
        channel, min_score=min_score, published_after=now - timedelta(days=settings.max_age_days),
        topics=topics)
    if not growth:
        return StoryChanges()
    window = timedelta(hours=settings.edit_hours)
    parts = app.archive.digest_parts(channel, now - window) if window else []
    return story_changes(channel, growth, parts, now, window,
                         app.settings.stories.preferred_sources)


def digest_content(app: App, channel: str, now: datetime, *, min_score: float, limit: int,
                   topics: tuple[str, ...] = ()) -> tuple[Digest, list[ArticleView]]:
    """A channel's next digest: relevant stories not yet in it (the first one looks back
    `lookback_hours`), published within `max_age_days`, the best `limit` in full and the rest
    a line each, and stories of earlier digests that grew since and no edit says so; and the
    articles it takes (with `taken_ids`, those of its updates): all of them, so what it only
    listed is not held over as news for the next one."""
    settings = app.settings.digest
    lookback = timedelta(hours=settings.lookback_hours)
    first = app.archive.first_digest(channel)
    articles = app.archive.digest_articles(
        channel, first_seen_after=(first or now) - lookback, min_score=min_score,
        published_after=now - timedelta(days=settings.max_age_days), topics=topics)
    updates = sorted(_story_changes(app, channel, now, min_score=min_score,
                                    topics=topics).for_digest,
                     key=lambda u: -u.lead.score)[:limit]  # the rest: the digest after
    since = app.archive.last_digest(channel) or now - lookback
    digest = build_digest(articles, app.classifier.taxonomy, since, now,
                          app.settings.stories.preferred_sources, updates, limit)
    notice = sources_notice((source_health(r), r.last_status) for r in app.archive.source_rows())
    return replace(digest, notice=notice), articles


def _post(app: App, try_now: frozenset[str]) -> DeliveryReport:
    from bot.stats import chart_png  # matplotlib: loaded only when a chart is due

    client = build_client(app.slack_token or "", app.settings.slack.api_url)
    expire = timedelta(hours=app.settings.slack.alert_max_age_hours)
    poster = SlackPoster(client, app.archive, app.now, chart=lambda: chart_png(app),
                         token_refused=app.token_refused,
                         alerts_expire=expire)
    return poster.deliver_pending(try_now)


def _print(app: App) -> DeliveryReport:
    """No Slack token: each pending message on the terminal, then marked delivered."""
    report = DeliveryReport()
    for d in app.archive.pending_deliveries():
        if d.kind == DIGEST_EDIT:  # printed lines cannot be edited: the update on its own
            print(f"── #{d.channel} · digest update ──")
            print(edited_story(d.message, d.article_id))
        else:
            print(f"── #{d.channel} · {d.kind} ──")
            print(plain_text(d.message) if d.kind != "chart" else
                  "(the weekly chart: `techwatch stats --png FILE` draws it)")
        print()
        app.archive.delivery_sent(d.id, "terminal", app.now())
        report.sent += 1
    return report
