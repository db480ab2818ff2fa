"""Posting the delivery ledger to Slack, exactly once.

Each delivery was recorded before posting. Its attempt is counted before the call, and every post
carries message metadata (event_type "techwatch_delivery" with the delivery key), so a post whose
outcome is unknown (a crash, a timeout or a 5xx after sending) is found again in the channel with
conversations.history / conversations.replies instead of being posted twice. Only a 429 is
retried inside slack_sdk (RateLimitErrorRetryHandler honours Retry-After): Slack did not take
that message. A 5xx or a network error is retried twice with back-off, each time after looking
for the message first. Whatever still fails stays pending, in order, for the next cycle.

Once posted, a message's permalink (chat.getPermalink) is asked for and kept with it, so the
archive's web pages link back to Slack. It is asked after the posts of a run, for every message
of the last week still without one: one that Slack could not give (a 429, an error, the network)
is asked again the next run, and a post never waits for it nor is it ever posted again for it.
"""

from __future__ import annotations

import http.client
import logging
import math
import random
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from bot.models import DIGEST_EDIT, Delivery
from bot.notify.plan import is_manual_digest
from bot.store import Archive

log = logging.getLogger("techwatch")
EVENT_TYPE = "techwatch_delivery"
CHANNEL_ERRORS = {"channel_not_found": "the channel does not exist or the bot cannot see it "
                                       "(a private channel: /invite @techwatch)",
                  "not_in_channel": "invite the bot to the channel (/invite @techwatch)",
                  "is_archived": "the channel is archived",
                  "restricted_action": "the workspace does not let the bot post there"}
TOKEN_ERRORS = {"invalid_auth": "SLACK_BOT_TOKEN is not valid",
                "not_authed": "SLACK_BOT_TOKEN is missing",
                "account_inactive": "the bot's token was revoked or its app removed",
                "token_revoked": "SLACK_BOT_TOKEN was revoked"}
# a scope the app lacks: the channel that needed it waits (a private one needs groups:history)
SCOPE_ERROR = "missing_scope"
SCOPE_NAME = re.compile(r"[a-z][a-z0-9:._-]{0,60}(?:,[a-z][a-z0-9:._-]{0,60}){0,9}")
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
SLACK_TROUBLE = ("internal_error", "fatal_error", "service_unavailable", "request_timeout")
RETRIES = 2  # in this run, after a 5xx or a network error; then the next cycle
# the network, or a reply cut short (http.client.IncompleteRead): the post may have landed
NETWORK_ERRORS = (SlackClientError, OSError, http.client.HTTPException)
MANUAL_DIGEST_WAIT = timedelta(minutes=10)  # a digest asked for now is not posted later
MAX_429_WAIT = 10.0  # seconds a post waits out a 429 within a cycle; longer: the channel is held
MAX_RETRY_AFTER = 3600.0  # seconds a channel is held for one 429, whatever Slack asks
RATE_LIMITED = "ratelimited"  # a channel hold's error when Slack asked to wait (429)
MAX_PAGES = 10  # of conversations.history when looking for a message
PERMALINK_WINDOW = timedelta(days=7)  # messages whose missing permalink is asked again
PERMALINKS_A_RUN = 50  # chat.getPermalink calls a run at most (Slack allows hundreds a minute)


class ShortRateLimitWait(RateLimitErrorRetryHandler):
    """A 429 is tried again after its Retry-After only when that is short: a longer wait leaves
    the message pending for a later cycle rather than holding up the polls. A Retry-After of
    "120.0" is read too (slack_sdk's own handler failed on it)."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        return super()._can_retry(state=state, request=request, response=response,
                                  error=error) and retry_after(response) <= MAX_429_WAIT

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None,
                                 error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        time.sleep(retry_after(response) + random.random())
        state.increment_current_attempt()


def _asked_for_now(d: Delivery) -> bool:
    """The first message of a digest a user asked for now (its thread parts follow it)."""
    return is_manual_digest(d.key) and d.parent_key is None


def retry_after(response: HttpResponse | SlackResponse | None) -> float:
    """Slack's Retry-After in seconds, the one reading of it: 1 when missing or unreadable
    ("nan" too), at most MAX_RETRY_AFTER ("1e9" or "inf" would hold a channel for ever)."""
    headers = {k.lower(): v for k, v in (response.headers if response else {}).items()}
    value = headers.get("retry-after")
    try:
        seconds = float(value[0] if isinstance(value, list) else value)
    except (TypeError, ValueError, IndexError):
        return 1.0
    return 1.0 if math.isnan(seconds) else min(max(seconds, 0.0), MAX_RETRY_AFTER)


def utc(moment: datetime) -> str:
    """A held channel's date as it is shown everywhere: "2026-12-07 14:05 UTC"."""
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def needed_scope(response: SlackResponse) -> str:
    """The scope Slack's missing_scope names in its `needed` field ("" when none is readable)."""
    needed = str(response.get("needed", ""))
    return needed if SCOPE_NAME.fullmatch(needed) else ""


def scope_advice(response: SlackResponse) -> str:
    """What to do about Slack's missing_scope, naming the scope."""
    needed = needed_scope(response)
    scope = f"the {needed} scope" if needed else "a scope Slack did not name"
    return (f"the app lacks {scope}: add it to the app (OAuth & Permissions, Bot Token Scopes) "
            "and reinstall the app to the workspace")


def build_client(token: str, api_url: str) -> WebClient:
    # Only 429s are retried inside slack_sdk: its default connection-error retry would re-send a
    # post that may have landed, without looking for it first.
    # slack_sdk takes HTTPS_PROXY (else HTTP_PROXY) for every URL and ignores NO_PROXY; without
    # its own proxy, urllib picks the proxy by the URL's scheme and honours NO_PROXY (with an
    # SSL context of our own, each call builds its opener, so the proxies are read then)
    client = WebClient(token=token, base_url=api_url, timeout=15,
                       ssl=ssl.create_default_context(),
                       retry_handlers=[ShortRateLimitWait(max_retry_count=2)])
    client.proxy = None
    return client


ALERT_MESSAGES = ("alert", "alert_reply", "alert_note")
# when each channel's next post may go (time.monotonic()), for every poster of this process
_NEXT_POST: dict[str, float] = {}
_PACE_LOCK = threading.Lock()


class _TokenRefused(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _ChannelRefused(Exception):
    def __init__(self, error: str, advice: str, record: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.advice = advice
        self.record = record or error  # kept with the hold (and shown by `status`)


def _code(e: SlackApiError) -> str:
    """Slack's one-word error ("invalid_auth"), not the exception's multi-line text."""
    return str(e.response.get("error", "")) or f"HTTP {e.response.status_code}"


def _channel_refusal(e: SlackApiError) -> _ChannelRefused | None:
    """Slack refused this channel (not the token): a missing channel, an uninvited bot, or a
    scope the channel needs (a private channel's history): that channel waits, others go on."""
    error = _code(e)
    if error == SCOPE_ERROR:
        needed = needed_scope(e.response)
        return _ChannelRefused(error, scope_advice(e.response),
                               f"{error} (needs {needed})" if needed else error)
    if error in CHANNEL_ERRORS:
        return _ChannelRefused(error, CHANNEL_ERRORS[error])
    return None


def hold_backoff(tries: int) -> timedelta:
    """A refused channel is tried again after 1, 2, 4 ... minutes, then every half hour: an
    admin's fix is picked up soon, a channel gone for good costs a call (and a log line) each
    half hour, not each cycle."""
    return min(timedelta(minutes=2 ** min(tries - 1, 10)), timedelta(minutes=30))


@dataclass
class DeliveryReport:
    sent: int = 0
    reconciled: int = 0  # found already posted: not posted again
    pending: int = 0
    held: int = 0  # waiting for a channel Slack refused, not tried this cycle
    failed: int = 0
    expired: int = 0  # alerts that waited too long to be news: not posted
    problems: list[str] = field(default_factory=list)


class SlackPoster:
    def __init__(self, client: WebClient, archive: Archive, now: Callable[[], datetime],
                 min_interval: float = 1.0, backoff: float = 1.0,
                 chart: Callable[[], bytes] | None = None,
                 alerts_expire: timedelta | None = None,
                 token_refused: dict[str, str] | None = None) -> None:
        self.client = client
        self.token_refused = {} if token_refused is None else token_refused  # shared: see App
        self.alerts_expire = alerts_expire  # an alert kept waiting this long is news no more
        self.chart = chart  # draws the weekly chart when a "chart" delivery is due
        self.archive = archive
        self.now = now
        self.min_interval = min_interval  # Slack's pace: about one message a second a channel
        self.backoff = backoff  # seconds before the first retry of a 5xx or network error
        self._last_error = ""

    def deliver_pending(self, try_now: frozenset[str] = frozenset()) -> DeliveryReport:
        """Post what the ledger holds, in order a channel. A channel Slack refused before waits
        quietly until its next try (see `hold_backoff`), so a dead one costs no call a cycle;
        channels in `try_now` (a digest a user asked for) are tried at once."""
        report = DeliveryReport()
        if self.client.token in self.token_refused:  # said once; a new token needs a restart
            report.held += self._without_token(report)
            return report
        holds = self.archive.channel_holds()
        now = self.now()
        # channels with an earlier message still pending, or refused and not yet due: keep order
        held = {c for c, hold in holds.items() if hold.retry_at > now and c not in try_now}
        stopped = False
        for delivery in self.archive.pending_deliveries():
            if delivery.channel in held:
                if is_manual_digest(delivery.key):  # asked for now, and it cannot be now
                    self._fail(delivery, "not_posted", "earlier messages to this channel wait "
                               "(see above)", report)
                else:
                    report.held += 1
                continue
            outcome = self._deliver(delivery, report)
            if outcome == "stop":  # the token is refused
                report.pending += self._without_token(report)
                stopped = True
                break
            if outcome in ("pending", "held", "waiting"):
                held.add(delivery.channel)
            elif outcome == "sent" and holds.pop(delivery.channel, None):
                self._release(delivery.channel)
        for channel in holds.keys() - {d.channel for d in self.archive.pending_deliveries()}:
            self.archive.release_channel(channel)  # nothing waits for it any more
        if not stopped:
            self.fill_permalinks(held)
        return report

    def fill_permalinks(self, skip: set[str] | frozenset[str] = frozenset()) -> int:
        """Ask Slack for the permalink of each recent message still without one (not in the
        channels `skip`: held, or failing this run), newest first; how many were filled. Slack
        rate-limiting, failing or out of reach ends it for this run: the rest waits for the
        next. A message Slack no longer has is marked as having none ("")."""
        filled = 0
        skip = set(skip)
        for delivery_id, channel, ts in self.archive.missing_permalinks(
                self.now() - PERMALINK_WINDOW, PERMALINKS_A_RUN, but=skip):
            if channel in skip:
                continue
            try:
                response = self.client.chat_getPermalink(channel=channel, message_ts=ts)
            except SlackApiError as e:
                error = _code(e)
                if error == "message_not_found":  # deleted: no link to give, none to ask for
                    self.archive.delivery_permalink(delivery_id, "")
                    continue
                if e.response.status_code == 200 and error not in (*TOKEN_ERRORS, *SLACK_TROUBLE):
                    skip.add(channel)  # this channel's answer (channel_not_found ...): later
                    continue
                log.info("slack: permalinks wait for the next run (%s)", error)
                break  # a 429, Slack's trouble, or the token: the next run asks again
            except NETWORK_ERRORS as e:
                log.info("slack: permalinks wait for the next run (%s)", type(e).__name__)
                break
            permalink = str(response.get("permalink") or "")
            if permalink.startswith(("https://", "http://")):
                self.archive.delivery_permalink(delivery_id, permalink)
                filled += 1
        return filled

    def _without_token(self, report: DeliveryReport) -> int:
        """Drop the digests asked for now (they cannot be now, and are not posted later by
        surprise once a valid token comes); the number of messages left waiting."""
        waiting = 0
        for delivery in self.archive.pending_deliveries():
            if _asked_for_now(delivery):
                self._fail(delivery, self.token_refused[self.client.token],
                           "no valid Slack token", report)
            elif is_manual_digest(delivery.key):  # its thread part: dropped with it, quietly
                self.archive.delivery_failed(delivery.id, "parent_failed", permanent=True)
            else:
                waiting += 1
        return waiting

    def _deliver(self, d: Delivery, report: DeliveryReport) -> str:
        try:
            return self._deliver_once(d, report)
        except _TokenRefused as refused:  # while looking for an earlier try of the message
            return self._token_refused(d, refused.error, report)
        except _ChannelRefused as refused:
            return self._refused(d, refused, report)

    def _deliver_once(self, d: Delivery, report: DeliveryReport) -> str:
        thread_ts = None
        if d.parent_key:
            parent_status, thread_ts = self.archive.delivery_state(d.parent_key)
            if parent_status == "failed":  # its thread will never exist: do not wait for it
                self._fail(d, "parent_failed", "the message it answers was refused", report)
                return "failed"
            if thread_ts is None:
                report.pending += 1
                return "waiting"
        if d.kind == "chart":
            return self._upload_chart(d, thread_ts, report)
        if d.kind == DIGEST_EDIT:  # the "parent" is the message itself
            return self._edit(d, thread_ts, report)
        if d.attempts:
            found = self._reconcile(d, thread_ts, report)
            if found is None:
                return self._give_up_for_now(d, report)
            if found:
                return "sent"
        if _asked_for_now(d) and d.created_at and self.now() - d.created_at > MANUAL_DIGEST_WAIT:
            self._fail(d, "not_posted", "a digest asked for then is not posted this late", report)
            return "failed"
        if d.kind in ALERT_MESSAGES and self.alerts_expire and d.created_at \
                and self.now() - d.created_at > self.alerts_expire:
            # held back too long (a channel the bot could not post to): no longer news
            self.archive.delivery_failed(d.id, "expired", permanent=True)
            report.expired += 1
            return "expired"
        for retry in range(RETRIES + 1):
            if retry:
                time.sleep(self.backoff * 2 ** (retry - 1))
                found = self._reconcile(d, thread_ts, report)  # the failed try may have landed
                if found is None:
                    return self._give_up_for_now(d, report)
                if found:
                    return "sent"
            outcome = self._post(d, thread_ts, report)
            if outcome != "retry":
                return outcome
        return self._give_up_for_now(d, report)

    def _edit(self, d: Delivery, ts: str, report: DeliveryReport) -> str:
        """A digest message made to read as the edit says (chat.update). An edit whose outcome
        is unknown is simply made again: the same content twice is one edit, never a post.
        The message's metadata (how it is found again) is left as it is. Not paced like posts:
        Slack's one message a second is chat.postMessage's; chat.update is a Tier 3 method, and
        a 429 holds the channel as for a post."""
        for retry in range(RETRIES + 1):
            if retry:
                time.sleep(self.backoff * 2 ** (retry - 1))
            self.archive.delivery_attempt(d.id)
            try:
                self.client.chat_update(channel=d.channel, ts=ts, text=d.message.text,
                                        blocks=list(d.message.blocks))
            except SlackApiError as e:
                outcome = self._api_error(d, e, report)
            except NETWORK_ERRORS as e:
                self._last_error = f"{type(e).__name__}: {e}"
                outcome = "retry"
            else:
                self.archive.delivery_sent(d.id, ts, self.now())
                report.sent += 1
                return "sent"
            if outcome != "retry":
                return outcome
        return self._give_up_for_now(d, report)

    def _post(self, d: Delivery, thread_ts: str | None, report: DeliveryReport) -> str:
        self.archive.delivery_attempt(d.id)
        self._pace(d.channel)
        try:
            response = self.client.chat_postMessage(
                channel=d.channel, text=d.message.text, blocks=list(d.message.blocks),
                thread_ts=thread_ts, unfurl_links=False, unfurl_media=False,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"delivery": d.key}})
        except SlackApiError as e:
            return self._api_error(d, e, report)
        except NETWORK_ERRORS as e:  # the post may have landed: looked for before a retry
            self._last_error = f"{type(e).__name__}: {e}"
            return "retry"
        finally:  # Slack's pace runs from the last request it answered (a 429's retry too)
            with _PACE_LOCK:
                _NEXT_POST[d.channel] = max(_NEXT_POST.get(d.channel, 0.0),
                                            time.monotonic() + self.min_interval)
        self.archive.delivery_sent(d.id, response["ts"], self.now())
        report.sent += 1
        return "sent"

    def _upload_chart(self, d: Delivery, thread_ts: str | None, report: DeliveryReport) -> str:
        """One try (an upload cannot be looked for like a message, so it is never repeated):
        a failure is a line in the log and the digest stands without its chart."""
        if d.attempts or self.chart is None:
            self._fail(d, "upload_not_retried", "the chart upload was interrupted", report)
            return "failed"
        self.archive.delivery_attempt(d.id)
        try:
            response = self.client.files_upload_v2(
                channel=d.channel, thread_ts=thread_ts, content=self.chart(),
                filename="techwatch-weekly.png", title=d.message.text)
        except SlackApiError as e:
            advice = scope_advice(e.response) if _code(e) == SCOPE_ERROR else ""
            self._fail(d, _code(e), advice or "Slack refused the chart upload", report)
            return "failed"
        except Exception as e:  # noqa: BLE001 -- drawing or uploading: the digest stands alone
            self._fail(d, f"{type(e).__name__}: {e}", "the chart upload failed", report)
            return "failed"
        file = response.get("file") or {}
        self.archive.delivery_sent(d.id, str(file.get("id", "")), self.now())
        report.sent += 1
        return "sent"

    def _api_error(self, d: Delivery, e: SlackApiError, report: DeliveryReport) -> str:
        error = _code(e)
        # A bad token or channel is the admin's to fix: the messages wait in the ledger (none
        # is lost), one line says what to do, and nothing is retried until the next cycle.
        if error in TOKEN_ERRORS:
            return self._token_refused(d, error, report)
        refused = _channel_refusal(e)
        if refused:
            return self._refused(d, refused, report)
        if e.response.status_code == 429:  # a long Retry-After: waited out across cycles
            return self._rate_limited(d, retry_after(e.response), report)
        if e.response.status_code in RETRYABLE_STATUS or error in SLACK_TROUBLE:
            self._last_error = error
            return "retry"
        self._fail(d, error, "Slack refused this message", report)  # e.g. invalid_blocks
        return "failed"

    def _token_refused(self, d: Delivery, error: str, report: DeliveryReport) -> str:
        """No channel can be posted to: said once; this process does not try again (a new
        token comes with a restart, and `run --once` from cron tries each run)."""
        self.token_refused[self.client.token] = error
        if _asked_for_now(d):  # dropped (see _without_token), in one line
            self._fail(d, error, TOKEN_ERRORS[error], report)
            return "stop"
        self.archive.delivery_failed(d.id, error, permanent=False)
        self._say(d.channel, f"slack {d.channel}: {error}: {TOKEN_ERRORS[error]}; messages "
                  "wait for a valid token (restart techwatch after changing it)", report)
        return "stop"

    def _rate_limited(self, d: Delivery, seconds: float, report: DeliveryReport) -> str:
        """Slack did not take the message and asks to wait longer than a post waits here: the
        channel is held until then, no call to it before (not even to look for the message,
        which Slack said it did not take)."""
        self.archive.delivery_not_posted(d.id, RATE_LIMITED)
        hold = self.archive.hold_channel(d.channel, RATE_LIMITED, self.now(),
                                         lambda _tries: timedelta(seconds=seconds))
        report.pending += 1
        wait = f"{seconds:g} s" if seconds < MAX_RETRY_AFTER else \
            f"{MAX_RETRY_AFTER:g} s or more (held {MAX_RETRY_AFTER:g} s a try)"
        log.warning("slack %s: Slack asks to wait %s (429); its messages wait until %s",
                    d.channel, wait, utc(hold.retry_at), extra={"channel": d.channel})
        return "held"

    def _give_up_for_now(self, d: Delivery, report: DeliveryReport) -> str:
        error = self._last_error
        self.archive.delivery_failed(d.id, error, permanent=False)
        report.pending += 1
        report.problems.append(f"slack {d.channel}: {error}; will retry on the next cycle")
        log.warning("slack %s: %s; will retry on the next cycle", d.channel, error,
                    extra={"channel": d.channel})
        return "pending"

    def _reconcile(self, d: Delivery, thread_ts: str | None,
                   report: DeliveryReport) -> bool | None:
        """Look for the message in the channel (or thread) by its metadata, since the delivery
        was planned: True found, False not there, None could not look (then nothing is posted
        again: the message waits)."""
        oldest = f"{d.created_at.timestamp() - 600:.6f}" if d.created_at else None
        cursor = None
        for _ in range(MAX_PAGES):
            try:
                if thread_ts:
                    response = self.client.conversations_replies(
                        channel=d.channel, ts=thread_ts, include_all_metadata=True,
                        limit=200, cursor=cursor)
                else:
                    response = self.client.conversations_history(
                        channel=d.channel, include_all_metadata=True, limit=200, oldest=oldest,
                        cursor=cursor)
            except SlackApiError as e:
                if _code(e) in TOKEN_ERRORS:
                    raise _TokenRefused(_code(e)) from e
                refused = _channel_refusal(e)
                if refused:
                    raise refused from e
                self._last_error = f"cannot look for the message: {_code(e)}"
                return None
            except NETWORK_ERRORS as e:
                self._last_error = f"cannot look for the message: {type(e).__name__}: {e}"
                return None
            for message in response.get("messages", []):
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == EVENT_TYPE and \
                        (metadata.get("event_payload") or {}).get("delivery") == d.key:
                    self.archive.delivery_sent(d.id, message["ts"], self.now())
                    report.reconciled += 1
                    return True
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return False
        return False

    def _fail(self, d: Delivery, error: str, advice: str, report: DeliveryReport) -> None:
        self.archive.delivery_failed(d.id, error, permanent=True)
        if _asked_for_now(d) and d.created_at:
            self.archive.forget_digest(d.channel, d.created_at)  # a scheduled one is still owed
        report.failed += 1
        what = "the digest asked for is dropped" if _asked_for_now(d) else f"message {d.key} " \
            "dropped"
        self._say(d.channel, f"slack {d.channel}: {error}: {advice} ({what})", report)

    def _refused(self, d: Delivery, refused: _ChannelRefused, report: DeliveryReport) -> str:
        """Slack refused the channel: its messages wait for the next try, except a digest asked
        for now, which is dropped (not posted hours later by surprise)."""
        if is_manual_digest(d.key):
            self._fail(d, refused.record, refused.advice, report)
            return "failed"
        self.archive.delivery_failed(d.id, refused.record, permanent=False)
        hold = self.archive.hold_channel(d.channel, refused.record, self.now(), hold_backoff)
        report.pending += 1
        self._say(d.channel, f"slack {d.channel}: {refused.error}: {refused.advice}; its messages "
                  f"wait until then (refused {hold.tries}x since {utc(hold.since)}; next try "
                  f"{utc(hold.retry_at)})", report)
        return "held"

    def _release(self, channel: str) -> None:
        hold = self.archive.release_channel(channel)
        if hold and hold.error != RATE_LIMITED:
            log.info("slack %s: posting again (refused since %s: %s)", channel, utc(hold.since),
                     hold.error, extra={"channel": channel})

    @staticmethod
    def _say(channel: str, line: str, report: DeliveryReport) -> None:
        report.problems.append(line)
        log.error(line, extra={"channel": channel})

    def _pace(self, channel: str) -> None:
        """Wait for this channel's turn, kept by every poster of the process (two digests
        asked for at once take turns), and hold the next one for this post."""
        with _PACE_LOCK:
            start = max(time.monotonic(), _NEXT_POST.get(channel, 0.0))
            _NEXT_POST[channel] = start + self.min_interval
        time.sleep(max(0.0, start - time.monotonic()))
