"""`techwatch run`: APScheduler jobs on one asyncio loop — a frequent poll tick, one cron job per
digest in its channel's time zone, and daily housekeeping — plus /healthz and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.exc import SQLAlchemyError

from bot.app import App, open_pipeline
from bot.errors import ArchiveDamaged, TechwatchError
from bot.health import HEARTBEAT_SECONDS, Health, Metrics, serve
from bot.notify.plan import clock
from bot.notify.service import terminal_digest_owed
from bot.pipeline import Pipeline
from bot.slackapp.serve import start_slack_app, token_watch
from bot.store.dialect import HOUSEKEEPING_LOCK
from bot.web.serve import start_web, web_pages

log = logging.getLogger("techwatch")
SHUTDOWN_GRACE = 3.0  # seconds a job in flight may take to finish after SIGTERM (exit within 5)
T = TypeVar("T")


def add_jobs(scheduler: AsyncIOScheduler, app: App, daemon: Daemon) -> None:
    """The jobs a config asks for. The job store is in memory: a restart after a config change
    starts from exactly these, with no leftovers."""
    settings = app.settings
    grace = max(int(settings.digest.grace_hours * 3600), 1)
    scheduler.add_job(daemon.tick, "interval", seconds=settings.poll.tick_seconds, id="poll",
                      next_run_time=app.now(), misfire_grace_time=None)
    digests = settings.slack.digests
    for digest in digests:
        at = clock(digest.time)
        scheduler.add_job(daemon.digest, CronTrigger(
            hour=at.hour, minute=at.minute, second=at.second, timezone=digest.timezone),
            args=(digest.channel,), id=f"digest:{digest.channel}", misfire_grace_time=grace)
    if not digests and not settings.slack.alerts:  # the terminal's daily digest
        at = clock(settings.digest.time)
        scheduler.add_job(daemon.digest, CronTrigger(
            hour=at.hour, minute=at.minute, second=at.second, timezone=settings.digest.timezone),
            args=(None,), id="digest:terminal", misfire_grace_time=grace)
    at = clock(settings.storage.housekeeping_time)
    scheduler.add_job(daemon.housekeeping, CronTrigger(
        hour=at.hour, minute=at.minute, second=at.second, timezone="UTC"), id="housekeeping",
        misfire_grace_time=None)
    scheduler.add_job(daemon.heartbeat, "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat")


class Daemon:
    """The jobs' bodies. Deliveries and housekeeping run in threads (Slack calls and SQL block);
    deliveries take turns (and with any other poster: bot.lock.posting)."""

    def __init__(self, app: App, pipeline: Pipeline, health: Health, metrics: Metrics,
                 deliver_due: Callable[..., Any], stop: asyncio.Event | None = None) -> None:
        self.app = app
        self.stop = stop  # set to stop the service
        self.damaged: ArchiveDamaged | None = None
        self.pipeline = pipeline
        self.health = health
        self.metrics = metrics
        self.deliver_due = deliver_due
        self.delivering = asyncio.Lock()
        self.idle = asyncio.Event()
        self.idle.set()
        self.ticks = 0
        self.cycle: asyncio.Task | None = None
        self.delivery: asyncio.Task | None = None
        self.delivery_asked = False  # a cycle ended while the delivery was under way
        self.digests_owed = False

    async def tick(self) -> None:
        self.idle.clear()
        self.cycle = asyncio.current_task()
        self.health.tick_started()
        try:
            report = await self.pipeline.run(one_shot=False)
            self.metrics.observe_cycle(report)
            self.health.cycle_done(report)
            if report.polled or report.processed:
                log.info("cycle done: %s", report.summary())
            # alerts and ops notices after every cycle; the first one also catches up on a
            # digest missed while the bot was down (within the grace), once
            self.deliver_soon(digests=self.ticks == 0)
            self.ticks += 1
        except asyncio.CancelledError:
            # shutdown: every write is its own transaction, so the next start resumes cleanly
            log.info("cycle interrupted by shutdown; the next start picks it up")
        except Exception as e:  # noqa: BLE001 -- a failed cycle must not stop the service
            if not self._fatal(e):
                _log_failure("poll cycle", "the next tick tries again", e)
        finally:
            self.health.tick_finished()
            self.idle.set()

    def deliver_soon(self, digests: bool = False) -> None:
        """Send what is due beside the polling, not in its way: a backlog of alerts at Slack's
        pace (about one message a second) or a Retry-After must not hold up the next poll.
        A cycle that ends while a delivery is under way has it go round once more. `digests`:
        also any digest still owed (missed while the bot was down, or failed), once."""
        self.digests_owed |= digests
        if self.delivery is not None and not self.delivery.done():
            self.delivery_asked = True
            return
        self.delivery = asyncio.create_task(self._deliver_until_done())

    async def _deliver_until_done(self) -> None:
        while True:
            self.delivery_asked = False
            digests, self.digests_owed = self.digests_owed, False
            try:
                await self._deliver(digests=digests and await in_thread(self._digest_owed))
            except asyncio.CancelledError:
                return  # shutdown: what is not sent stays pending for the next start
            except Exception as e:  # noqa: BLE001 -- one failed delivery must not stop the service
                self.digests_owed |= digests  # a digest missed while down is still owed
                if not self._fatal(e):
                    _log_failure("delivery", "the next cycle tries again", e)
            if not self.delivery_asked:
                return

    async def settled(self) -> None:
        """Once no cycle and no delivery is under way (waiting does not cancel either)."""
        while True:
            await self.idle.wait()
            if self.delivery is not None and not self.delivery.done():
                await asyncio.wait({self.delivery})
            elif self.idle.is_set():
                return

    def _digest_owed(self) -> bool:
        slack = self.app.settings.slack
        if slack.digests:
            return True  # the service sends each channel's digest only if it is owed
        return not slack.alerts and terminal_digest_owed(self.app)

    async def digest(self, channel: str | None) -> None:
        try:
            await self._deliver(alerts=False, channels=(channel,) if channel else ())
        except asyncio.CancelledError:
            log.info("digest interrupted by shutdown; the next start sends it (within the grace)",
                     extra={"channel": channel or "terminal"})
        except Exception as e:  # noqa: BLE001
            self.digests_owed = True  # the next cycle's delivery sends it (within the grace)
            if not self._fatal(e):
                _log_failure(f"digest for {channel or 'the terminal'}",
                             "the next cycle tries again", e)

    async def housekeeping(self) -> None:
        try:
            removed = await in_thread(self._housekeep)
            log.info("housekeeping: %d raw pages, %d fetch-log rows and %d event-index rows past "
                     "retention removed, index optimised", removed["raw_pages"],
                     removed["fetch_log"], removed["event_terms"])
        except asyncio.CancelledError:
            log.info("housekeeping interrupted by shutdown")
        except Exception as e:  # noqa: BLE001
            if not self._fatal(e):
                log.exception("housekeeping failed; tried again tomorrow")

    def _fatal(self, error: Exception) -> bool:
        """A damaged archive stops the service (exit 2), said once: every later write could
        lose more, and each article would spend its retries on it."""
        if not isinstance(error, ArchiveDamaged):
            return False
        if self.damaged is None:
            self.damaged = error
            log.error("%s; techwatch stops", error)
            if self.stop is not None:
                self.stop.set()
        return True

    def _housekeep(self) -> dict[str, int]:
        """Once in the cluster: a worker that finds another at it leaves it (it is idempotent
        anyway: a second run finds nothing past retention)."""
        with self.app.archive.exclusively(HOUSEKEEPING_LOCK) as mine:
            if not mine:
                log.info("housekeeping: another worker is at it")
                return {"raw_pages": 0, "fetch_log": 0, "event_terms": 0}
            return self._prune_and_optimize()

    def _prune_and_optimize(self) -> dict[str, int]:
        storage, now = self.app.settings.storage, self.app.now()
        removed = self.app.archive.prune(
            raw_before=now - timedelta(days=storage.raw_html_days) if storage.raw_html_days
            else None,
            fetch_log_before=now - timedelta(days=storage.fetch_log_days)
            if storage.fetch_log_days else None,
            event_terms_before=now - timedelta(days=self.app.settings.stories.window_days))
        self.app.archive.optimize()
        return removed

    async def heartbeat(self) -> None:
        self.health.beat()
        try:
            rows = await in_thread(self.app.archive.source_rows)
            pending = await in_thread(self.app.archive.pending_delivery_count)
            self.metrics.observe_sources(rows, pending)
            self.health.sources_seen(rows)
        except asyncio.CancelledError:
            pass  # shutdown
        except Exception:  # noqa: BLE001 -- metrics are best effort; the next beat tries again
            log.debug("metrics refresh failed", exc_info=True)

    async def _deliver(self, **kwargs: Any) -> None:
        async with self.delivering:
            report = await in_thread(lambda: self.deliver_due(self.app, **kwargs))
        if report is not None:
            self.metrics.observe_delivery(report)


def _log_failure(what: str, then: str, error: Exception) -> None:
    """One line for an expected failure (the database held by another program too long, the
    posting lock); a traceback for a bug."""
    if isinstance(error, SQLAlchemyError):  # the driver's message, not the statement
        log.error("%s: database error (%s); %s", what,
                  str(getattr(error, "orig", None) or error).splitlines()[0], then)
    elif isinstance(error, TechwatchError):
        log.error("%s: %s; %s", what, error, then)
    else:
        log.error("%s failed; %s", what, then, exc_info=error)


async def in_thread(function: Callable[[], T]) -> T:
    """`function` on a daemon thread: unlike asyncio.to_thread's pool, one still blocked at
    shutdown (a Slack Retry-After) does not hold the process past its deadline; what it was
    writing is one SQLite transaction, applied whole or not at all."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def work() -> None:
        try:
            outcome = (function(), None)
        except BaseException as e:  # noqa: BLE001 -- handed to the awaiting coroutine
            outcome = (None, e)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (shutdown)
            loop.call_soon_threadsafe(_settle, future, *outcome)

    threading.Thread(target=work, daemon=True).start()
    return await future


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def run_forever(app: App, deliver_due: Callable[..., Any]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # HUP: as a supervisor's stop
        loop.add_signal_handler(sig, stop.set)
    settings = app.settings
    pages = web_pages(app)  # the archive's pages when [web] port is set; a missing secret: now
    health = Health(settings.poll.tick_seconds, slack=token_watch(app))
    metrics = Metrics(app.worker)
    server = web = None
    if settings.health.port:
        try:
            server = serve(health, metrics, settings.health.host, settings.health.port)
        except OSError as e:
            log.error("health: cannot serve on %s:%d: %s; running without /healthz",
                      settings.health.host, settings.health.port, e.strerror)
    stop_slack_app = None
    try:
        stop_slack_app = start_slack_app(app, host=settings.slack.events_host,
                                         port=settings.slack.events_port)
    except TechwatchError as e:
        log.error("slack app: %s; running without it", e)
    if pages is not None:
        try:
            web = start_web(app, pages)
        except TechwatchError as e:
            log.error("%s; running without the web pages", e)
    async with open_pipeline(app) as pipeline:
        daemon = Daemon(app, pipeline, health, metrics, deliver_due, stop)
        scheduler = AsyncIOScheduler(timezone="UTC", job_defaults={
            "coalesce": True, "max_instances": 1})
        add_jobs(scheduler, app, daemon)
        scheduler.start()
        digests = ", ".join(f"{d.channel} at {d.time} {d.timezone}"
                            for d in settings.slack.digests) or \
            ("none" if settings.slack.alerts else
             f"terminal at {settings.digest.time} {settings.digest.timezone}")
        log.info("techwatch running (config %s, %s archive): %d sources, tick every %g s, "
                 "digests: %s%s", settings.config_file,
                 "PostgreSQL" if app.archive.shared else "SQLite", len(settings.sources),
                 settings.poll.tick_seconds, digests,
                 f", health on http://{settings.health.host}:{settings.health.port}/healthz"
                 if server else "")
        await stop.wait()
        scheduler.pause()  # no new work
        with contextlib.suppress(TimeoutError):  # a cycle or a delivery may finish
            await asyncio.wait_for(daemon.settled(), SHUTDOWN_GRACE)
        if daemon.delivery is not None:
            daemon.delivery.cancel()  # a message in flight is looked for before it is resent
        if not daemon.idle.is_set() and daemon.cycle is not None:
            pipeline.closing = True
            if app.extraction is not None:  # an extraction in flight is abandoned, retried later
                app.extraction.stop_workers()
            daemon.cycle.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(daemon.idle.wait(), 1.0)
        scheduler.shutdown(wait=False)
    if server is not None:
        server.shutdown()
    if stop_slack_app is not None:
        stop_slack_app()
    if web is not None:
        web.shutdown()
    if health.slack is not None:
        health.slack.stop()
    log.info("techwatch stopped")
    return 2 if daemon.damaged else 0
