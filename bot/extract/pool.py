"""The extraction processes, shared by every caller of one techwatch process (a poll, a Slack
`/techwatch add`): a warm pool of workers (pebble) in which each page is timed from the moment a
worker starts it, not while it waits in the queue, and a worker that overruns is killed and
replaced, so a hostile page costs only itself.

The workers are forked by multiprocessing's forkserver, which is started from the thread that
first builds the pool: build it on the main thread (the kernel's parent-death signal follows the
thread that started a process, see bot.lifeline). The forkserver imports what extraction needs
(WORKER_MODULES) once, while the main process goes on (fetching feeds): each worker forked from it
starts warm, and shares those pages with its siblings. A worker gets its context (the classifier,
for one) once, when it starts; each job is called with it."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, TimeoutError
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from bot.lifeline import EXPECTED_PARENT, die_with_parent

log = logging.getLogger("techwatch")
T = TypeVar("T")
# what the workers import, once, in the forkserver (bot.lifeline_preload first: it must die with us)
WORKER_MODULES = ["bot.lifeline_preload", "bot.analysis", "bot.extract.page"]
_context: Any = None  # in a worker: the context its pool was made with


class ExtractionTimeout(Exception):
    """A job ran past the time limit; its worker was stopped."""


class ExtractionPool:
    """Runs picklable jobs in worker processes: `job(context)`, with the pool's context."""

    def __init__(self, workers: int, timeout: float, context: Any = None) -> None:
        self.workers = workers
        self.timeout = timeout
        self._lock = threading.Lock()
        self._worker_context = context
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(WORKER_MODULES)
        start_forkserver()
        # pebble starts its workers in the first schedule(), each waiting for the forkserver to
        # have imported WORKER_MODULES: done on a thread of its own, never on the event loop
        self._starter = ThreadPoolExecutor(1, thread_name_prefix="techwatch-pool")
        self._pool = self._new_pool()

    def _new_pool(self, *, start: bool = True) -> ProcessPool:
        pool = ProcessPool(self.workers, context=self._context, initializer=start_worker,
                           initargs=(self._worker_context,))
        if start:  # now, while the feeds are fetched
            self._starter.submit(pool._update_pool_status)
        return pool

    async def run(self, job: Callable[[Any], T]) -> T | None:
        """The job's result; None when the worker died of something that is not the job's
        fault (a broken pool is replaced for the next call). Raises ExtractionTimeout when it
        took longer than the time limit (the worker was killed)."""
        pool, future = await asyncio.get_running_loop().run_in_executor(
            self._starter, self._schedule, job)
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError:
            raise ExtractionTimeout(f"extract: gave up after {self.timeout:g} s of extraction "
                                    "(the worker was stopped)") from None
        except (ProcessExpired, CancelledError):
            return None
        except BrokenProcessPool:
            self._replace(pool)
            return None
        except asyncio.CancelledError:
            future.cancel()  # pebble stops the worker that runs it
            raise

    def _schedule(self, job: Callable[[Any], T]) -> tuple[ProcessPool, Future]:
        with self._lock:
            return self._pool, self._pool.schedule(_perform, args=(job,), timeout=self.timeout)

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
            old, self._pool = self._pool, self._new_pool(start=False)
        old.stop()
        old.join()

    def close(self) -> None:
        with self._lock:
            self._pool.stop()
            self._pool.join()
        self._starter.shutdown(wait=False, cancel_futures=True)


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


def start_worker(context: Any = None) -> None:
    """An extraction worker's start: it dies with its server (see bot.lifeline); and Ctrl-C,
    which reaches the whole process group, is the parent's to handle (it stops the pool), not a
    traceback from every worker. It keeps its pool's context for its jobs."""
    global _context
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _context = context


def _perform(job: Callable[[Any], T]) -> T:
    return job(_context)
