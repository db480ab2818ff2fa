"""The extraction processes, shared by every caller of one techwatch process (a poll, a Slack
`/techwatch add`): a warm pool of workers (pebble) in which each page is timed from the moment a
worker starts it, not while it waits in the queue, and a worker that overruns is killed and
replaced, so a hostile page costs only itself.

The workers are forked by multiprocessing's forkserver, which is started from the thread that
first builds the pool: build it on the main thread (the kernel's parent-death signal follows the
thread that started a process, see bot.lifeline)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, TimeoutError
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver

from pebble import ProcessExpired, ProcessPool

from bot.lifeline import EXPECTED_PARENT, die_with_parent
from bot.models import ExtractedText

log = logging.getLogger("techwatch")


class ExtractionPool:
    """Runs picklable calls that return an ExtractedText in worker processes."""

    def __init__(self, workers: int, timeout: float) -> None:
        self.workers = workers
        self.timeout = timeout
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["bot.lifeline_preload"])  # the server dies with us
        start_forkserver()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPool:
        return ProcessPool(self.workers, context=self._context, initializer=start_worker)

    async def run(self, call: Callable[[], ExtractedText]) -> ExtractedText | None:
        """The call's result; an ExtractedText marked `too_large` when the page took longer than
        the time limit (the worker was killed); None when the worker died of something that is
        not the page's fault (a broken pool is replaced for the next call)."""
        with self._lock:
            pool = self._pool
            future = pool.schedule(call, timeout=self.timeout)
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError:
            return ExtractedText("too_large", note=f"extract: gave up after {self.timeout:g} s "
                                                   "of extraction (the worker was stopped)")
        except (ProcessExpired, CancelledError):
            return None
        except BrokenProcessPool:
            self._replace(pool)
            return None
        except asyncio.CancelledError:
            future.cancel()  # pebble stops the worker that runs it
            raise

    def _replace(self, broken: ProcessPool) -> None:
        with self._lock:
            if self._pool is broken:
                log.warning("extraction: the worker pool broke; starting a new one")
                broken.stop()
                self._pool = self._new_pool()

    def stop_workers(self) -> None:
        """End the extraction processes now, the pages in flight abandoned (shutdown); a later
        call gets new workers."""
        with self._lock:
            old, self._pool = self._pool, self._new_pool()
        old.stop()
        old.join()

    def close(self) -> None:
        with self._lock:
            self._pool.stop()
            self._pool.join()


def start_forkserver() -> None:
    """Start multiprocessing's forkserver (and resource tracker) on the calling thread, told the
    pid it must die with, and with SIGHUP blocked (the mask outlives exec, and the workers inherit
    it): when the terminal closes, the hangup reaches the whole process group, and the tracker,
    killed by it, printed a traceback for each of our semaphores. techwatch stops on the hangup
    and ends them itself (or the kernel does, bot.lifeline)."""
    os.environ[EXPECTED_PARENT] = str(os.getpid())  # read by bot.lifeline_preload in the server
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.environ.pop(EXPECTED_PARENT, None)


def start_worker() -> None:
    """An extraction worker's start: it dies with its server (see bot.lifeline); and Ctrl-C,
    which reaches the whole process group, is the parent's to handle (it stops the pool), not a
    traceback from every worker."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
