"""One writer per SQLite archive: `run`, `poll` and `digest` hold an exclusive lock on a file
beside the database, so two processes never fetch, classify or post the same items. Posting to
Slack has a lock of its own, taken by whoever posts (the daemon, a /techwatch command in
`serve`): an OS file lock, so a process that dies lets go of it. A PostgreSQL archive has
neither: its workers share the work by claims and advisory locks (bot.store.cluster)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from bot.errors import TechwatchError


def lock_path(database_url: str) -> Path | None:
    """The lock file beside the database's real file: a symlink or another spelling of the
    path must meet the same lock."""
    if not database_url.startswith("sqlite"):  # a server: its workers coordinate in it
        return None
    path = sa.engine.make_url(database_url).database
    return None if not path or path == ":memory:" else Path(f"{Path(path).resolve()}.lock")


@contextmanager
def exclusive(database_url: str) -> Iterator[None]:
    path = lock_path(database_url)
    if path is None:
        yield
        return
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise TechwatchError(f"the archive {path.with_suffix('')} is in use by techwatch "
                                 f"(pid {holder}); stop it first, or use another database") \
                from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_POSTING = threading.Lock()  # the file lock is per process: threads take turns here first


@contextmanager
def posting(database_url: str, wait: float = 120.0) -> Iterator[None]:
    """One poster at a time for an archive, across threads and processes; waits its turn (a
    poster holds it for one round of messages) and raises TechwatchError after `wait` s."""
    if not _POSTING.acquire(timeout=wait):
        raise TechwatchError("another delivery in this process is still posting; try again")
    try:
        path = lock_path(database_url)
        if path is None:
            yield
            return
        posting_path = path.with_suffix(".posting")
        with posting_path.open("a+") as handle:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TechwatchError("another techwatch process is posting to Slack "
                                             f"(lock {posting_path}); try again") from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        _POSTING.release()
