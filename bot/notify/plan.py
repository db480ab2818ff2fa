"""What to deliver, decided from data and `now`: due digests and alerts as ledger entries."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta, tzinfo

from bot.digest import StoryUpdate, story_update
from bot.models import (
    DIGEST_EDIT,
    ArticleView,
    Delivery,
    SlackMessage,
    SourceHealth,
    StoryGrowth,
    WatchHit,
)
from bot.notify.blocks import (
    alert_message,
    escape,
    note_message,
    reply_message,
    story_ids,
    with_update,
)


def clock(hhmm: str) -> time:
    """A config time of day, "HH:MM" or "HH:MM:SS" (validated by bot.config)."""
    return time(*map(int, hhmm.split(":")))


def last_scheduled(now: datetime, hhmm: str, tz: tzinfo) -> datetime:
    """The most recent moment at or before `now` when the local clock in `tz` read `hhmm`
    (DST-correct: built from the local date, not by adding 24 hours)."""
    local = now.astimezone(tz)
    for days_back in range(3):
        day = local.date() - timedelta(days=days_back)
        moment = datetime.combine(day, clock(hhmm), tzinfo=tz)
        # compared in UTC: two datetimes of one tzinfo compare by wall clock, which is wrong
        # for a time in the spring-forward gap
        if moment.astimezone(UTC) <= now:
            return moment
    raise AssertionError("unreachable: a time of day recurs within two days")


def owed_digest(now: datetime, hhmm: str, tz: tzinfo, last: datetime | None,
                grace: timedelta) -> datetime | None:
    """The scheduled time of the digest owed now, if any: the last one not yet sent, unless it
    was missed by more than `grace` (it would be stale; the next one carries its stories)."""
    due = last_scheduled(now, hhmm, tz)
    return None if now - due > grace or (last is not None and last >= due) else due


def digest_deliveries(channel: str, key: str, messages: Sequence[SlackMessage],
                      updates: Sequence[StoryUpdate] = (),
                      members: Mapping[int, Sequence[int]] | None = None) -> list[Delivery]:
    """A digest's messages: the first in the channel, the rest in its thread. Each records
    the stories it carries (every article of each, `members` by its lead's id, and the
    articles of its "updated" lines): a refused thread part gives them back whole (one
    article of a story kept would keep the story from the next digest)."""
    settles = {f"update-{u.lead.id}": u.article_ids for u in updates}
    members = members or {}

    def carried(m: SlackMessage) -> tuple[int, ...]:
        return tuple(i for lead in story_ids(m) for i in members.get(lead, (lead,))) + \
            tuple(i for b in m.blocks for i in settles.get(b.get("block_id"), ()))

    parts = [Delivery(key=f"{key}:part-{i}", channel=channel, kind="digest", message=m,
                      parent_key=f"{key}:part-0" if i else None, article_ids=carried(m))
             for i, m in enumerate(messages)]
    return parts


@dataclass(frozen=True, slots=True)
class StoryChanges:
    """What a channel's grown stories come to: edits of recent digest messages, the articles
    those edits settle (article id, digest id), and the updates left for the next digest."""

    edits: tuple[Delivery, ...] = ()
    settled: tuple[tuple[int, int], ...] = ()
    for_digest: tuple[StoryUpdate, ...] = ()


def story_changes(channel: str, growth: Sequence[StoryGrowth], parts: Sequence[Delivery],
                  now: datetime, edit_window: timedelta,
                  preferred_sources: Sequence[str] = ()) -> StoryChanges:
    """A story that grew after a digest showed it: when that digest (the latest that named it)
    was planned within `edit_window`, its message is edited to name the new outlets (one
    edit a story, each on top of the ones before it); otherwise, or when that message cannot
    be edited (refused, gone past Slack's limits, not in `parts`), the next digest carries an
    "updated" line. Articles of outlets already named settle without a word."""
    edits: list[Delivery] = []
    settled: list[tuple[int, int]] = []
    later: list[StoryUpdate] = []
    current = {p.key: p for p in parts}  # each message as it reads after the edits so far
    for g in growth:
        update = story_update(g, preferred_sources)
        if not update.outlets:
            settled += [(i, g.digest_id) for i in update.article_ids]
            continue
        edit = _edit(channel, g, update, current.values()) \
            if edit_window > timedelta(0) and now - g.digest_at <= edit_window else None
        if edit is None:
            later.append(update)
            continue
        edits.append(edit)
        current[edit.parent_key or ""] = replace(current[edit.parent_key or ""],
                                                  message=edit.message)
        settled += [(i, g.digest_id) for i in update.article_ids]
    return StoryChanges(tuple(edits), tuple(settled), tuple(later))


def _edit(channel: str, growth: StoryGrowth, update: StoryUpdate,
          parts: Iterable[Delivery]) -> Delivery | None:
    """The edit of the latest message that shows the story (its entry, or its "updated"
    line), keyed by the first article it names: planned twice, it is recorded once."""
    ids = {f"{kind}-{a.id}": a.id for a in growth.shown for kind in ("story", "update")}
    for part in sorted(parts, key=lambda p: p.id, reverse=True):
        block = next((b["block_id"] for b in part.message.blocks
                      if b.get("block_id") in ids), None)
        if block is None:
            continue
        blocks = with_update(part.message.blocks, block, update.outlets)
        if blocks is None:
            return None
        return Delivery(key=f"{part.key}:edit-{min(update.article_ids)}", channel=channel,
                        kind=DIGEST_EDIT, message=SlackMessage(part.message.text, tuple(blocks)),
                        article_id=ids[block], parent_key=part.key,
                        article_ids=update.article_ids)
    return None


def chart_delivery(channel: str, digest_key: str) -> Delivery:
    """The weekly chart, uploaded into the digest's thread."""
    return Delivery(key=f"{digest_key}:chart", channel=channel, kind="chart",
                    message=SlackMessage("techwatch: relevant articles per topic per week", ()),
                    parent_key=f"{digest_key}:part-0")


def alert_key(channel: str, story_id: int) -> str:
    return f"alert:{channel}:story-{story_id}"


def alert_deliveries(channel: str, new: Sequence[tuple[ArticleView, Sequence[ArticleView]]],
                     replies: Sequence[ArticleView], room: int, tz: tzinfo, hour: datetime,
                     in_digest: Callable[[ArticleView], bool],
                     watched: Mapping[int, WatchHit] | None = None, web: str = "",
                     ) -> list[Delivery]:
    """One alert a new story (its lead; the other outlets are recorded with it) while the
    channel's hourly cap has room, whether a topic subscription or a watch found it (`watched`:
    the articles a watch matched, by id; the alert names the watch). The excess that this
    channel's digest will carry is rolled into it (recorded, not posted); the rest is left for
    a later hour. One note a channel an hour says so. A later outlet of an alerted story is a
    thread reply. With `web` (the public URL), each alert links its story's page."""
    room = max(room, 0)
    watched = watched or {}
    planned = []
    for lead, members in new[:room]:
        hit = next((watched[a.id] for a in (lead, *members) if a.id in watched), None)
        planned.append(Delivery(key=alert_key(channel, lead.story_id), channel=channel,
                                kind="alert", message=alert_message(lead, tz, hit, web),
                                article_id=lead.id))
        planned += [settled(channel, "alert_member", m) for m in members]
    rolled = [(lead, members) for lead, members in new[room:] if in_digest(lead)]
    excess = len(new[room:])
    later = excess - len(rolled)
    if excess:
        if rolled and later:
            when = f"{len(rolled)} will come in the next digest, {later} when the hourly limit allows"
        else:
            when = ("it" if excess == 1 else "they") + " will come " + (
                "in the next digest" if rolled else "when the hourly limit allows")
        note = f"{excess} more new {'story' if excess == 1 else 'stories'} in the last hour: {when}."
        planned.append(Delivery(key=f"alert-note:{channel}:{hour:%Y-%m-%dT%H}", channel=channel,
                                kind="alert_note", message=note_message(note)))
    for lead, members in rolled:
        planned.append(Delivery(key=alert_key(channel, lead.story_id), channel=channel,
                                kind="rolled", message=SlackMessage("", ()),
                                article_id=lead.id, status="rolled"))
        planned += [settled(channel, "alert_member", m) for m in members]
    planned += [Delivery(key=f"alert-reply:{channel}:{a.id}", channel=channel,
                         kind="alert_reply", message=reply_message(a), article_id=a.id,
                         parent_key=alert_key(channel, a.story_id)) for a in replies]
    return planned


def settled(channel: str, kind: str, article: ArticleView) -> Delivery:
    """An article whose alert is settled without a message of its own."""
    return Delivery(key=f"{kind}:{channel}:{article.id}", channel=channel, kind=kind,
                    message=SlackMessage("", ()), article_id=article.id, status="rolled")


def manual_digest_key(channel: str, now: datetime) -> str:
    """A digest asked for now (`techwatch digest`, `/techwatch digest`): now or never."""
    return f"digest:{channel}:manual:{now.isoformat()}"


def is_manual_digest(key: str) -> bool:
    return key.startswith("digest:") and ":manual:" in key


def ops_deliveries(channel: str, failing: Sequence[SourceHealth],
                   recovered: Sequence[SourceHealth], now: datetime) -> list[Delivery]:
    """The ops channel hears once when a source starts failing (a run of failures, keyed by
    when it began) and once when that run ends; a recovery of a run it never heard of (a blip
    under the threshold) is not news."""
    planned = []
    for s in failing:
        text = (f":warning: Source {s.id} ({escape(s.name)}) is failing since "
                f"{s.since:%Y-%m-%d %H:%M} UTC: {escape(s.error or 'error')} ({s.errors} failed polls "
                "in a row). It keeps being retried with back-off.")
        planned.append(Delivery(key=ops_failing_key(channel, s.id, s.since), channel=channel,
                                kind="ops", message=note_message(text)))
    for s in recovered:
        hours = (now - s.since).total_seconds() / 3600
        text = (f":white_check_mark: Source {s.id} ({escape(s.name)}) has recovered after "
                f"{hours:.1f} h of failures.")
        planned.append(Delivery(key=f"ops:{channel}:{s.id}:recovered:{s.since.isoformat()}",
                                channel=channel, kind="ops", message=note_message(text)))
    return planned


def ops_failing_key(channel: str, source_id: str, since: datetime) -> str:
    return f"ops:{channel}:{source_id}:failing:{since.isoformat()}"
