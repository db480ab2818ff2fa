"""One writer per archive: `run`, `poll` and `digest` hold an exclusive lock on a file beside
the database, so two processes never fetch, classify or post the same items."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from bot.errors import TechwatchError


def lock_path(database_url: str) -> Path | None:
    path = sa.engine.make_url(database_url).database
    return None if not path or path == ":memory:" else Path(f"{path}.lock")


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
