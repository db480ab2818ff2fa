"""A throwaway PostgreSQL database a test: made on the server at $TECHWATCH_TEST_POSTGRES_URL
(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) and dropped after it. Without the
variable, PostgreSQL tests skip with that reason; with it, a server that cannot be reached is a
failure (CI sets it: CI never passes without PostgreSQL)."""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest
import sqlalchemy as sa

ENV = "TECHWATCH_TEST_POSTGRES_URL"


def server_url() -> str:
    url = os.environ.get(ENV)
    if not url:
        pytest.skip(f"no PostgreSQL server for tests: set {ENV} "
                    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return url


@contextmanager
def throwaway_database(template: str | None = None, server: str | None = None,
                       prefix: str = "techwatch_test") -> Iterator[str]:
    """The URL of a new, empty database on the test server (or `server`), dropped afterwards;
    with `template` (another database's URL, which no one may be connected to), a copy of
    that one."""
    base = sa.engine.make_url(server or server_url())
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as db:
            copy = f' TEMPLATE "{sa.engine.make_url(template).database}"' if template else ""
            db.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    except sa.exc.OperationalError as e:
        pytest.fail(f"{ENV} is set but the PostgreSQL server cannot be reached: "
                    f"{str(e.orig).strip().splitlines()[0]}")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as db:
            db.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@cache
def current_schema() -> str:
    """A database holding an empty archive of the current schema, made once a test process (and
    dropped at its end): a template that a test's archive is copied from in a fraction of the
    time its schema takes to make. Each process of a parallel run (pytest -n) has its own, under
    its own random name: a template may have no one else connected while it is copied."""
    from bot.store import open_archive

    stack = throwaway_database(prefix="techwatch_template")
    url = stack.__enter__()
    open_archive(url).close()
    atexit.register(stack.__exit__, None, None, None)
    return url
