"""APScheduler wiring only: a poll tick and a daily digest on one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.app import App

log = logging.getLogger("techwatch")
POLL_TICK_MINUTES = 5
SHUTDOWN_GRACE = 7.0  # seconds a cycle in flight may take to finish after SIGTERM


async def run_forever(app: App, deliver_due: Callable[[], None]) -> int:
    from bot.cli import run_cycle

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler = AsyncIOScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 15 * 60})

    slack = app.settings.slack.digests or app.settings.slack.alerts
    idle = asyncio.Event()
    idle.set()

    async def tick() -> None:
        idle.clear()
        try:
            await run_cycle(app, one_shot=False)
            if slack:
                deliver_due()  # the cycle's alerts, and each channel's digest once it is due
        except asyncio.CancelledError:
            # shutdown: every write is its own transaction, so the next start resumes cleanly
            log.info("cycle interrupted by shutdown; the next start picks it up")
        finally:
            idle.set()

    scheduler.add_job(tick, "interval", minutes=POLL_TICK_MINUTES, id="poll",
                      next_run_time=app.now())
    if not slack:
        hour, minute = app.settings.digest.time.split(":")
        scheduler.add_job(deliver_due, CronTrigger(hour=int(hour), minute=int(minute),
                                                   timezone=app.settings.digest.timezone),
                          id="digest")
    scheduler.start()
    log.info("techwatch running: polling every %d min, digest at %s %s", POLL_TICK_MINUTES,
             app.settings.digest.time, app.settings.digest.timezone)
    await stop.wait()
    scheduler.pause()  # no new work
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(idle.wait(), SHUTDOWN_GRACE)  # let a cycle in flight finish
    scheduler.shutdown(wait=False)  # what is still running is abandoned safely
    log.info("techwatch stopped")
    return 0
