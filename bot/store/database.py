"""Opening an archive: an SQLite file (made, or migrated, as needed; read-only for readers) or a
PostgreSQL database; a new one is made from the table definitions and stamped, an older one
migrated by Alembic."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import sqlalchemy as sa

from bot.errors import ArchiveDamaged, StorageError
from bot.store import dialect
from bot.store.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config  # Alembic loads only to migrate

    from bot.store.archive import Archive

log = logging.getLogger("techwatch")


SCHEMA_LOCK = 0x7465_6368_0000  # PostgreSQL: workers starting at once make the schema once


def is_postgresql_url(url: str) -> bool:
    return url.startswith(("postgresql:", "postgresql+"))


def archive_file(url: str) -> Path | None:
    """The SQLite file a database URL names (None: in memory, a server, or not a file URL)."""
    if not url.startswith("sqlite"):
        return None
    try:
        path = sa.engine.make_url(url).database
    except sa.exc.ArgumentError:
        return None
    return Path(path) if path and path != ":memory:" else None


def check_location(url: str) -> None:
    """Raise StorageError when an archive could not be made at `url` (a file where its folder
    would be): said even by a command that only reads and so makes nothing."""
    file = archive_file(url)
    if file is not None:
        folder = next((p for p in file.parents if p.exists()), None)
        if folder is not None and not folder.is_dir():
            raise StorageError(f"database {url}: {folder} is not a directory")


def _check_writable(url: str, file: Path) -> None:
    """SQLite writes the file and its journal beside it: a directory this user cannot write (a
    root-owned host directory mounted into a container) is said in one line, with the fix."""
    effective = os.access in os.supports_effective_ids  # the uid that writes: set-uid aware
    for path in (file.parent, file):
        if path.exists() and not os.access(path, os.W_OK, effective_ids=effective):
            owner, uid = path.stat().st_uid, os.geteuid()
            raise StorageError(
                f"database {url}: {path} is not writable by uid {uid} (it belongs to uid "
                f"{owner}): `chown {uid} {path}` on the host, or run as a user who may write it "
                f"(`docker run --user {owner if owner else 'UID'}`)")


def open_archive(url: str, *, read_only: bool = False) -> Archive:
    """Open (creating and migrating as needed) the archive at a SQLAlchemy URL: an SQLite file
    or a PostgreSQL database (`postgresql+psycopg://`), which several workers share.
    `read_only`, for a command that only reads: an existing file is opened without a single
    write (no migration unless its schema is older, no WAL switch), so a read-only file or
    directory (another user's archive, a backup) can be read."""
    from bot.store.archive import Archive

    if is_postgresql_url(url):
        engine = _open_server(url)
        if read_only:  # a reading command: the server refuses any write it might attempt
            engine.dispose()
            engine = _server_engine(url, {"options": "-c default_transaction_read_only=on"})
        return Archive(engine, read_only=read_only)
    file = archive_file(url)
    if read_only and file is not None:
        return _open_reading(url, file)
    try:
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StorageError(f"database {url}: {e}") from None
    if file is not None:
        _check_writable(url, file)
    engine = _engine(url, file or url, pragmas=("journal_mode=WAL", "synchronous=NORMAL"))
    try:
        _make_current(engine, url)
    except sa.exc.SQLAlchemyError as e:
        engine.dispose()
        problem = str(e.orig if hasattr(e, "orig") else e)
        if "unable to open" in problem or "readonly" in problem:  # SQLite writes beside the file
            problem += " (the database file and its directory must be writable)"
        raise StorageError(f"database {url}: {problem}") from None
    except ArchiveDamaged:
        engine.dispose()
        raise
    return Archive(engine)


def _open_reading(url: str, file: Path, *, upgraded: bool = False) -> Archive:
    """The file opened for reading only (SQLite's `query_only`: a write would fail). Where the
    WAL's shared-memory file cannot be made beside it (a read-only directory: nobody writes
    there), it is read as immutable. An archive of an older schema is migrated first, as any
    command did before, if it can be."""
    from bot.store.archive import Archive

    problem = ""
    for mode in ("mode=rw", "mode=ro&immutable=1"):  # rw: read-only anyway on a read-only file
        engine = _engine(f"sqlite:///file:{quote(str(file.absolute()))}?{mode}&uri=true", file,
                         pragmas=("query_only=ON",))
        try:
            with engine.connect() as db:
                state = _schema_state(db)
        except sa.exc.SQLAlchemyError as e:
            engine.dispose()
            error = getattr(e, "orig", None) or e
            problem = problem or str(error)
            if getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_READONLY:
                continue
            break
        except ArchiveDamaged:
            engine.dispose()
            raise
        if state == "current":
            wal = file.with_name(f"{file.name}-wal")
            if "immutable" in mode and wal.exists() and wal.stat().st_size:
                log.warning("%s is read as of its last checkpoint: the writes in %s need a "
                            "writable directory to be read", file, wal)
            return Archive(engine, read_only=True)
        engine.dispose()
        if state == "newer" or upgraded:
            raise StorageError(f"database {url}: its schema is not one this version knows; use "
                               "the techwatch that wrote it, or another database")
        try:  # older: brought up to date first, as a writing command would
            open_archive(url).close()
        except StorageError as e:
            raise StorageError(f"{e}; it was written by an earlier techwatch and must be "
                               "upgraded once, which needs write access") from None
        return _open_reading(url, file, upgraded=True)
    raise StorageError(f"database {url}: {problem} (it must be a readable database file)")



def _open_server(url: str) -> sa.Engine:
    """A PostgreSQL archive: its schema made or migrated by the first worker to get there (the
    others wait for it), connections checked before use (a server restarted meanwhile)."""
    engine = _server_engine(url)
    try:
        with engine.connect() as db:
            db.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
            try:
                state = _schema_state(db)
                db.commit()
                if state == "empty":
                    _create(engine)
                elif state != "current":
                    _upgrade(engine, url)
            finally:
                db.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK})
                db.commit()
    except sa.exc.SQLAlchemyError as e:
        engine.dispose()
        problem = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        raise StorageError(f"database {sa.engine.make_url(url).render_as_string()}: "
                           f"{problem}") from None
    return engine


def _server_engine(url: str, connect_args: dict | None = None) -> sa.Engine:
    return sa.create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4,
                            json_serializer=_json, connect_args=connect_args or {})


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _make_current(engine: sa.Engine, url: str) -> None:
    with engine.connect() as db:
        state = _schema_state(db)
    if state == "empty":
        _create(engine)
    elif state != "current":  # Alembic's own checks and messages for anything else
        _upgrade(engine, url)


def _create(engine: sa.Engine) -> None:
    """A new archive: the schema the migrations build (tests/test_store.py compares the two),
    made at once from the table definitions and stamped with the head revision, without
    running every migration since the first (or loading Alembic)."""
    (head,) = migration_revisions()[1]
    with engine.begin() as db:
        metadata.create_all(db)
        dialect.create_fts(db)
        db.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                           "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")
        db.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
                   {"head": head})


def _upgrade(engine: sa.Engine, url: str) -> None:
    """Migrate to the head revision; one Alembic does not know (a newer techwatch's) is said."""
    from alembic.util.exc import CommandError

    try:
        migrate(engine, "head")
    except CommandError as e:  # e.g. a revision from a newer techwatch
        engine.dispose()
        raise StorageError(f"database {url}: its schema is not one this version knows ({e}); "
                           "use the techwatch that wrote it, or another database") from None


def _schema_state(db: sa.Connection) -> str:
    """current, empty (a new file), older (migrations to run) or newer (a revision this
    version lacks). Read without Alembic (a command that finds its schema current never loads
    it)."""
    tables = set(db.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        if dialect.is_postgresql(db) else "SELECT name FROM sqlite_master WHERE type = 'table'"))
        .scalars())
    if not tables:
        return "empty"
    if "alembic_version" not in tables:
        return "older"
    current = set(db.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    revisions, heads = migration_revisions()
    if current == heads:
        return "current"
    return "newer" if current - revisions else "older"


_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(.*?)\s*$""", re.M)


@cache
def migration_revisions() -> tuple[frozenset[str], frozenset[str]]:
    """Every revision of the migrations folder, and the heads (those no other revision follows),
    read from the scripts' `revision = ...` and `down_revision = ...` lines, not by Alembic
    (tests/test_startup.py checks that they are Alembic's)."""
    revisions: set[str] = set()
    follows: set[str] = set()
    for script in (Path(__file__).parent / "migrations" / "versions").glob("*.py"):
        found = dict(_REVISION.findall(script.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        revisions.add(_literal(found["revision"]))
        down = found.get("down_revision", "None")
        follows.update(re.findall(r"""["']([^"']+)["']""", down))
    return frozenset(revisions), frozenset(revisions - follows)


def _literal(value: str) -> str:
    return value.strip().strip("\"'")


def _engine(url: str, name: Path | str, pragmas: tuple[str, ...]) -> sa.Engine:
    """An engine whose connections run `pragmas` (and enforce foreign keys), and that turns a
    damaged file into ArchiveDamaged: once, and for every use after it."""
    engine = sa.create_engine(url, connect_args={"timeout": 30}, json_serializer=_json)
    damage: list[str] = []  # what the first damaged read or write said

    def damaged(error: BaseException | None = None) -> ArchiveDamaged:
        if not damage:
            damage.append(_damage_message(name, error))
        return ArchiveDamaged(damage[0])

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        try:
            for pragma in (*pragmas, "foreign_keys=ON"):
                cursor.execute(f"PRAGMA {pragma}")
        except sqlite3.DatabaseError as e:
            if _is_damage(e):
                raise damaged(e) from None
            raise
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "handle_error")
    def _damage_seen(context):
        if damage or _is_damage(context.original_exception):
            raise damaged(context.original_exception) from None

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _damage_known(conn, cursor, statement, parameters, context, executemany):
        if damage:  # nothing more is read from or written to a damaged file
            raise damaged()

    return engine


def _is_damage(error: BaseException) -> bool:
    return getattr(error, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_CORRUPT,
                                                            sqlite3.SQLITE_NOTADB)


def _damage_message(name: Path | str, error: BaseException | None) -> str:
    return (f"database {name} is damaged ({error}): stop techwatch and restore a backup, or "
            f"recover what it holds with `sqlite3 {name} .recover | sqlite3 recovered.db` and "
            "point storage.database there")


def _alembic_config() -> Config:
    from alembic.config import Config

    return Config(str(Path(__file__).with_name("alembic.ini")))


def migrate(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    """Run the Alembic migrations to `revision`. Foreign keys are off meanwhile: SQLite alters a
    table by copying it, which a referenced table would refuse (the pragma only takes effect
    outside a transaction, hence the commit before it)."""
    from alembic import command

    config = _alembic_config()
    sqlite = not dialect.is_postgresql(engine)
    with engine.connect() as connection:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
        connection.commit()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
