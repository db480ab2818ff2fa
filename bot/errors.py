"""One exception tree for every expected failure.

    TechwatchError                 expected failure: one line for the user, no traceback
    ├── ConfigError                a setting is missing or wrong (names file and key)
    ├── StorageError               the database cannot be opened or migrated
    │   └── ArchiveDamaged         the file is damaged: the command or cycle stops (exit 2)
    └── SourceError                one source failed at one stage; the cycle goes on
        ├── FetchError             network, HTTP status, limits (kind says which)
        │   └── RateLimited        429/503 with Retry-After: the host is paused
        └── ParseError             the body is not a usable feed

Messages start with the stage ("fetch: ...") so a status line says where it broke.
"""

from __future__ import annotations

from datetime import datetime


class TechwatchError(Exception):
    """An expected failure, reported in one line."""


class ConfigError(TechwatchError):
    def __init__(self, file: str, key: str, problem: str) -> None:
        super().__init__(f"config error in {file}: {key}: {problem}")
        self.file, self.key, self.problem = file, key, problem


class StorageError(TechwatchError):
    pass


class ArchiveDamaged(StorageError):
    """The archive file is damaged (SQLite: malformed, or not a database). Said once: what
    touches the file next fails the same way, and a write could lose more, so the command or
    the cycle stops instead of spending each article's retries on it."""


class SettingError(TechwatchError):
    """A secret or setting from the environment is missing or refused: a bad configuration
    too (exit 2), found only when a command needs it."""


class SourceError(TechwatchError):
    stage = "source"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(f"{self.stage}: {message}")
        self.kind = kind or self.stage


class FetchError(SourceError):
    stage = "fetch"

    def __init__(self, message: str, *, kind: str | None = None, status: int | None = None) -> None:
        super().__init__(message, kind=kind)
        self.status = status


class RateLimited(FetchError):
    def __init__(self, message: str, *, until: datetime, status: int) -> None:
        super().__init__(message, kind="rate_limited", status=status)
        self.until = until


class HostPaused(RateLimited):
    """Not asked at all: the host told another request to wait (it is nobody's failure)."""


class ParseError(SourceError):
    stage = "parse"
