"""The Slack app on slack-bolt: `/techwatch` and the feedback menu. Each listener acknowledges
at once (Slack waits 3 seconds); what needs the network (posting a digest, checking a feed,
fetching an article) answers afterwards through the command's response_url."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import App as BoltApp
from slack_bolt import BoltResponse

from bot.app import App, add_feed_source, open_pipeline
from bot.config import DigestChannel
from bot.errors import TechwatchError
from bot.notify.blocks import FEEDBACK_ACTION, cut, digest_messages, escape, with_votes
from bot.notify.service import deliver, digest_content, digest_min_score
from bot.notify.slack import build_client
from bot.pipeline import CycleReport
from bot.since import parse_since
from bot.slackapp import replies
from bot.slackapp.commands import CommandError, Request, help_text, parse, url_of, watch_query
from bot.slackapp.limits import FetchQueue, RateLimit
from bot.store.rows import ADDED_SOURCE

log = logging.getLogger("techwatch")
SLOW = {"digest", "add-source", "add"}  # answered through response_url
FETCHING = {"add-source", "add"}  # fetch what a member names: bounded (bot.slackapp.limits)
FETCHES_PER_MEMBER = 10  # fetching commands one member may ask for in FETCH_WINDOW seconds
FETCH_WINDOW = 600.0
QUEUED = 8  # fetching commands that may wait for their turn beyond those running
VOTES = {"relevant", "not_relevant", "not_topic"}
SLOW_LIMIT = 90.0  # seconds an add-source or add may take before the user is told it gave up


def build_bolt_app(app: App, *, signing_secret: str | None) -> BoltApp:
    """The Bolt app, its Web API client pointed at `slack.api_url`. Without a signing secret
    (Socket Mode) requests come over the app's own WebSocket and are not signed."""
    client = build_client(app.slack_token or "", app.settings.slack.api_url)
    bolt_log = logging.getLogger("techwatch.slack")
    # Bolt reads SLACK_BOT_TOKEN itself and warns that our client (pointed at slack.api_url) wins
    bolt_log.addFilter(lambda record: "will be unused" not in record.getMessage())
    bolt = BoltApp(client=client, signing_secret=signing_secret,
                   listener_executor=DaemonThreads(),
                   request_verification_enabled=signing_secret is not None,
                   token_verification_enabled=False, process_before_response=False,
                   logger=bolt_log)
    commands = Commands(app)
    app.extraction_pool()  # started here, on the main thread (see bot.extract.pool)
    per_member = RateLimit(FETCHES_PER_MEMBER, FETCH_WINDOW)
    fetches = FetchQueue(slots=app.extraction_pool().workers, waiting=QUEUED)

    @bolt.error
    def on_error(error: Exception, response: BoltResponse) -> BoltResponse:
        """A request Bolt cannot dispatch (a malformed payload, a forged button): one line, not
        a traceback, and a 400 for its sender."""
        log.warning("slack app: a request could not be handled (%s: %s)",
                    type(error).__name__, str(error)[:200])
        log.debug("slack app: the request's error", exc_info=error)  # with --verbose
        response.status, response.body = 400, "bad request"
        return response

    @bolt.command("/techwatch")
    def on_command(ack: Callable, command: dict, respond: Callable) -> None:
        try:
            request = parse(command.get("text", ""), app.classifier.taxonomy.ids)
        except CommandError as e:
            ack(**replies.message(escape(str(e))))
            return
        user, channel = command.get("user_id", ""), command.get("channel_id", "")
        if request.name not in SLOW or request.words == ("preview",):
            ack(**_safely(lambda: commands.answer(request, user, channel)))
            return
        if request.name not in FETCHING:
            ack(**replies.message(f"Working on `{request.name}`…"))
            respond(**_safely(lambda: commands.answer(request, user, channel)))
            return
        wait = per_member.wait(user)
        if wait:
            ack(**replies.message(f"You have asked for {FETCHES_PER_MEMBER} fetches in "
                                  f"{FETCH_WINDOW / 60:g} minutes; try again in {wait} s."))
            return
        ahead = fetches.enter()
        if ahead is None:
            ack(**replies.message("Busy: too many pages are being fetched right now; try again "
                                  "in a few minutes."))
            return
        ack(**replies.message(f"Working on `{request.name}`…" if not ahead else
                              f"Busy: queued behind {ahead} other "
                              f"request{'s' if ahead > 1 else ''}; `{request.name}` starts when "
                              "a place is free."))
        with fetches.turn():
            respond(**_safely(lambda: commands.answer(request, user, channel)))

    @bolt.action(replies.MORE_ACTION)
    def on_more(ack: Callable, body: dict, respond: Callable) -> None:
        ack()
        respond(replace_original=True, **_safely(
            lambda: commands.search(json.loads(body["actions"][0]["value"]))))

    @bolt.action(FEEDBACK_ACTION)
    def on_feedback(ack: Callable, body: dict, client: Any) -> None:
        ack()
        try:
            commands.feedback(body, client)
        except Exception:  # noqa: BLE001 -- the listener boundary: logged, never a trace in Slack
            log.exception("slack feedback failed")

    return bolt


class DaemonThreads(Executor):
    """Bolt's listeners on daemon threads: a command still running at shutdown (a slow site in
    add-source) must not hold the process past its deadline, as a thread pool's workers would."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as e:  # noqa: BLE001 -- handed to whoever waits
                future.set_exception(e)

        threading.Thread(target=run, daemon=True, name="slack-listener").start()
        return future


def _safely(answer: Callable[[], dict]) -> dict:
    """A reply, or one line saying what went wrong: never a stack trace in Slack."""
    try:
        return answer()
    except (TechwatchError, CommandError) as e:
        return replies.message(escape(str(e)))
    except TimeoutError:
        return replies.message("That took too long (the site is slow or does not answer); "
                               "try again later.")
    except Exception as e:  # noqa: BLE001 -- the listener boundary
        log.exception("slack command failed")
        return replies.message(f"Something went wrong ({type(e).__name__}); it is in the log.")


class Commands:
    """What each subcommand does, on the archive and the pipeline."""

    def __init__(self, app: App) -> None:
        self.app = app

    def answer(self, r: Request, user: str, channel: str) -> dict:
        handler = getattr(self, r.name.replace("-", "_"))
        return handler(r, user, channel)

    def help(self, r: Request, user: str, channel: str) -> dict:
        return replies.message(escape(help_text(self.app.classifier.taxonomy.ids)))

    def search(self, query: dict | Request, user: str = "", channel: str = "") -> dict:
        if isinstance(query, Request):
            query = {"q": " ".join(query.words), **query.options, "offset": 0}
        now = self.app.now()
        offset = query.get("offset", 0)
        if not isinstance(offset, int) or not 0 <= offset <= 10_000:
            raise CommandError("That page of results is no longer available; search again.")
        results = self.app.archive.search(
            str(query["q"]), topic=query.get("topic"), lang=query.get("lang"),
            since=parse_since(query["since"], now, "since:") if query.get("since") else None,
            limit=replies.PAGE + 1, offset=offset)
        state = {k: v for k, v in query.items() if k != "offset"}
        return replies.search_reply(results[:replies.PAGE], state, offset,
                                    len(results) > replies.PAGE, self.app.settings.web.public_url)

    def topics(self, r: Request, user: str, channel: str) -> dict:
        now, taxonomy = self.app.now(), self.app.classifier.taxonomy
        return replies.topics_reply(
            {t: taxonomy.name(t) for t in taxonomy.ids},
            self.app.archive.topic_story_counts(now - timedelta(days=7)),
            self.app.archive.topic_story_counts(now - timedelta(days=30)))

    def subscribe(self, r: Request, user: str, channel: str) -> dict:
        min_score = float(r.options.get("min", 0.7))
        topics = ["*"] if "all" in r.words else list(dict.fromkeys(r.words))
        self.app.archive.subscribe(channel, topics, min_score, user, self.app.now())
        named = "every topic" if topics == ["*"] else ", ".join(topics)
        return replies.message(f"<#{channel}> now gets alerts on {named} (score ≥ "
                               f"{min_score:g}), from the next poll.", public=True)

    def unsubscribe(self, r: Request, user: str, channel: str) -> dict:
        topic = r.words[0]
        removed = self.app.archive.unsubscribe(channel, None if topic == "all" else topic)
        if not removed:
            return replies.message(f"<#{channel}> had no subscription to {topic} made here "
                                   "(subscriptions from the config file stay).")
        return replies.message(f"<#{channel}> no longer gets alerts on "
                               f"{'anything subscribed here' if topic == 'all' else topic}.",
                               public=True)

    def subscriptions(self, r: Request, user: str, channel: str) -> dict:
        slack = self.app.settings.slack
        return replies.subscriptions_reply(
            channel, [d for d in slack.digests if d.channel == channel],
            [a for a in slack.alerts if a.channel == channel],
            self.app.archive.subscriptions(channel))

    def watch(self, r: Request, user: str, channel: str) -> dict:
        query = watch_query(r)
        relevant_only = not any(w.lower() == "any" for w in r.words)
        topic, lang = r.options.get("topic"), r.options.get("lang", "")
        watch_id = self.app.archive.add_watch(
            channel, query, relevant_only=relevant_only, topics=(topic,) if topic else (),
            lang=lang, user=user, now=self.app.now())
        return replies.message(
            f"<#{channel}> now gets alerts on `{escape(query)}`{f' in {topic}' if topic else ''}"
            f"{f' ({lang})' if lang else ''}{'' if relevant_only else ', relevant or not'} "
            f"(watch {watch_id}), from the next poll.", public=True)

    def watches(self, r: Request, user: str, channel: str) -> dict:
        now = self.app.now()
        made = self.app.archive.watches(channel)
        configured = [(i, w) for i, w in enumerate(self.app.settings.slack.watches)
                      if w.channel == channel]
        keys = [f"slack:{w.id}" for w in made] + [f"config:{i}" for i, _ in configured]
        week = self.app.archive.watch_match_counts(keys, now - timedelta(days=7))
        month = self.app.archive.watch_match_counts(keys, now - timedelta(days=30))
        return replies.watches_reply(channel, made, configured, week, month)

    def unwatch(self, r: Request, user: str, channel: str) -> dict:
        watch_id = int(r.words[0])
        if not self.app.archive.remove_watch(channel, watch_id):
            return replies.message(f"<#{channel}> has no watch {watch_id} made here (watches "
                                   "from the config file stay; `/techwatch watches` lists them).")
        return replies.message(f"<#{channel}> no longer watches {watch_id}.", public=True)

    def digest(self, r: Request, user: str, channel: str) -> dict:
        configured = {d.channel: d for d in self.app.settings.slack.digests}
        digest = configured.get(channel) or DigestChannel(channel)
        if r.words == ("preview",):
            content, _ = digest_content(self.app, channel, self.app.now(),
                                        min_score=digest_min_score(self.app, digest),
                                        limit=digest.max_stories, topics=digest.topics)
            first = digest_messages(content, ZoneInfo(digest.timezone),
                                    self.app.settings.web.public_url)[0]
            return replies.message(first.text, first.blocks)
        # nothing new is said to the one who asked, not posted for the whole channel
        outcome = deliver(self.app, alerts=False, scheduled=False, channels=(channel,),
                          extra=() if channel in configured else (digest,))
        if outcome.report.sent:
            return replies.message("The digest is posted in this channel.")
        if outcome.report.problems:
            return replies.message("The digest could not be posted: "
                                   + escape("; ".join(outcome.report.problems)))
        return replies.message("Nothing new for this channel since its last digest; "
                               "`/techwatch digest preview` shows what the next one holds.")

    def sources(self, r: Request, user: str, channel: str) -> dict:
        return replies.sources_reply(self.app.archive.source_rows(), self.app.now())

    def add_source(self, r: Request, user: str, channel: str) -> dict:
        slack = self.app.settings.slack
        if user not in slack.admins:
            return replies.message("Only the admins listed in the bot's config (`[slack] "
                                   "admins`) may add sources.")
        source, found = asyncio.run(asyncio.wait_for(add_feed_source(
            self.app, url_of(r.words[0]), from_slack=True), SLOW_LIMIT))
        log.info("source %s added from Slack by %s", source.id, user, extra={"source": source.id})
        return replies.message(f"Added source `{source.id}`: {escape(cut(source.name, 200))} "
                               f"({found.feed.format}, {len(found.feed.entries)} items), polled "
                               "from the next cycle.", public=True)

    def add(self, r: Request, user: str, channel: str) -> dict:
        url = url_of(r.words[0])
        private_ok = self.app.settings.slack.allow_private_sources

        async def add():
            self.app.archive.ensure_source(ADDED_SOURCE, "Added by hand")
            async with open_pipeline(self.app) as pipeline:
                return await asyncio.wait_for(
                    pipeline.add_url(url, CycleReport(), private_ok=private_ok), SLOW_LIMIT)

        outcome = asyncio.run(add())
        if outcome.status == "failed":
            return replies.message(f"Could not add {escape(url)}: {escape(outcome.detail)}")
        row = self.app.archive.article_row(outcome.article_id)
        verdict = f"relevant ({', '.join(row.topics or []) or 'no topic'})" if row.relevant \
            else "not relevant"
        word = "Archived" if outcome.status == "added" else "Already archived"
        return replies.message(f"{word}: {escape(cut(row.title, 300))} — {verdict}.")

    def status(self, r: Request, user: str, channel: str) -> dict:
        now, archive = self.app.now(), self.app.archive
        rows = archive.source_rows()
        polls = [row.last_polled_at for row in rows if row.last_polled_at]
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        today = archive.counts(since=day)
        return replies.status_reply({
            "last_poll": max(polls) if polls else None, "today": today["articles"],
            "relevant_today": today["relevant"], "pending": archive.pending_delivery_count(),
            "failing": [row.id for row in rows if row.failing_since],
            "refused_channels": sorted(archive.channel_holds()),
            "feedback": archive.feedback_count()})

    def feedback(self, body: dict, client: Any) -> None:
        """A vote from a story's menu: stored, then the message shows the story's votes."""
        action = body["actions"][0]
        article_id, _, rest = action["selected_option"]["value"].partition(":")
        vote, _, topic = rest.partition(":")
        if not article_id.isdigit() or vote not in VOTES or \
                (topic and topic not in self.app.classifier.taxonomy.ids):
            return  # not a menu the bot made
        channel = (body.get("channel") or body.get("container") or {}).get("id") or \
            body.get("container", {}).get("channel_id", "")
        counts = self.app.archive.record_feedback(int(article_id), body["user"]["id"], vote,
                                                  topic, channel, self.app.now())
        message = body.get("message")
        if counts is None or not message:
            return
        blocks = with_votes(message.get("blocks", []), action["block_id"], *counts)
        try:
            client.chat_update(channel=channel, ts=message["ts"], blocks=blocks,
                               text=message.get("text", ""))
        except Exception as e:  # noqa: BLE001 -- the vote is stored; the count shows next time
            log.warning("slack %s: could not show the vote: %s", channel, e,
                        extra={"channel": channel})
