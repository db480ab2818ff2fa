"""Copying an SQLite archive into an empty PostgreSQL one (`techwatch archive copy`).

Every table is streamed in key order, a chunk a transaction, ids kept; the full-text index is
rebuilt from each article's title and text (its summary while it has none), as the store
indexes it. Memory is bounded by one chunk (rows and bytes: raw pages are large). A copy killed
midway has written whole chunks only: run again, each table continues after the largest key it
holds in the target (compared byte-wise, as SQLite orders keys), and a row written twice is
skipped (ON CONFLICT DO NOTHING). A target holding anything but a prefix of this source is
refused. At the end the sequences are moved past the largest ids and the counts compared.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from bot.errors import StorageError
from bot.store import dialect, fts
from bot.store.database import archive_file, is_postgresql_url, open_archive
from bot.store.schema import metadata

# parents before children (foreign keys); the workers' heartbeats belong to the old archive
TABLES: tuple[sa.Table, ...] = tuple(t for t in metadata.sorted_tables if t.name != "workers")
FTS = "articles_fts"
CHUNK_ROWS = 1000
CHUNK_BYTES = 16 << 20  # raw pages are tens of kilobytes each: a chunk stops at this much text
COPY_LOCK = 0x7465_6368_0004  # one copy into a database at a time

Progress = Callable[[str, int, int], None]  # table, rows there now, rows in the source


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int


def mismatches(counts: Iterable[TableCount]) -> list[str]:
    """Each table whose target does not hold as many rows as its source, said in words."""
    return [f"{c.table} has {c.target} rows in the target but {c.source} in the source"
            for c in counts if c.source != c.target]


def chunks(rows: Iterable[Mapping[str, Any]], max_rows: int = CHUNK_ROWS,
           max_bytes: int = CHUNK_BYTES) -> Iterator[list[dict[str, Any]]]:
    """Rows in lists of at most `max_rows`, cut earlier once their text and bytes reach
    `max_bytes` (a chunk is one transaction, and what the copy holds in memory)."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        chunk.append(dict(row))
        size += sum(len(v) for v in row.values() if isinstance(v, str | bytes))
        if len(chunk) >= max_rows or size >= max_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


# --- opening both ends ----------------------------------------------------------------------

def target_url(url: str) -> str:
    """The PostgreSQL URL to copy into (psycopg 3 for a bare postgresql://), or StorageError."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not is_postgresql_url(url):
        raise StorageError(f"archive copy: --to must be a PostgreSQL database "
                           f"(postgresql+psycopg://HOST:5432/DATABASE), not {shown(url)}")
    return url


def source_file(url: str) -> str:
    """The SQLite archive to copy from, which must exist (a missing file is not made)."""
    file = archive_file(url)
    if file is None:
        raise StorageError(f"archive copy: the archive to copy must be an SQLite file "
                           f"(sqlite:///path/to/techwatch.db), not {shown(url)}")
    if not file.is_file():
        raise StorageError(f"archive copy: there is no archive at {file} (is storage.database, "
                           "$TECHWATCH_DATABASE_URL or --from right?)")
    return str(file)


@contextmanager
def writers_stopped(url: str) -> Iterator[None]:
    """Hold the archive's writer lock (bot.lock) while it is copied: a running `techwatch run`
    is said, not copied halfway. A read-only folder (a backup) has no writer to stop."""
    from bot.lock import exclusive, lock_path

    path = lock_path(url)
    writable = path is not None and os.access(path.parent, os.W_OK)
    with exclusive(url) if writable else nullcontext():
        yield


# --- the copy ---------------------------------------------------------------------------------

def copy_archive(source: sa.Engine, target: sa.Engine, *, chunk_rows: int = CHUNK_ROWS,
                 progress: Progress | None = None) -> list[TableCount]:
    """Copy every table from `source` (SQLite) into `target` (PostgreSQL, schema at head),
    continuing a copy that stopped; the counts of both ends after it, the full-text index's
    last (its source count is the articles')."""
    with source.connect() as src, target.connect() as tgt:
        src.exec_driver_sql("BEGIN")  # one snapshot: counts and rows of the same moment
        if not dialect.try_session_lock(tgt, COPY_LOCK):
            raise StorageError("archive copy: another copy into this database is running")
        tgt.commit()
        totals = {t.name: _count(src, t.name) for t in TABLES}
        present = {t.name: _count(tgt, t.name) for t in TABLES}
        tgt.commit()
        check_target(src, tgt, totals, present)
        for table in TABLES:
            copy_table(src, tgt, table, totals[table.name], present[table.name],
                       chunk_rows=chunk_rows, progress=progress)
        set_sequences(tgt)
        tgt.commit()
        counts = [TableCount(t.name, totals[t.name], _count(tgt, t.name)) for t in TABLES]
        counts.append(TableCount(FTS, totals["articles"], _count(tgt, FTS)))
        dialect.release_session_lock(tgt, COPY_LOCK)
        tgt.commit()
        src.rollback()
    return counts


def copy_table(src: sa.Connection, tgt: sa.Connection, table: sa.Table, total: int,
               present: int, *, chunk_rows: int = CHUNK_ROWS,
               progress: Progress | None = None) -> int:
    """Stream the rows after the target's last key into it, a chunk a transaction (articles
    with their full-text rows); the rows written."""
    after = last_key(tgt, table)
    tgt.commit()
    done, written = present, 0
    if progress:
        progress(table.name, done, total)
    if after is not None and present >= total:
        return 0
    rows = src.execution_options(yield_per=min(chunk_rows, 100)).execute(
        source_query(table, after)).mappings()
    insert = _insert(table)
    for chunk in chunks(rows, chunk_rows):
        tgt.execute(insert, [{f"p_{k}": v for k, v in row.items()} for row in chunk])
        if table.name == "articles":
            index_articles(tgt, chunk)
        tgt.commit()
        done, written = done + len(chunk), written + len(chunk)
        if progress:
            progress(table.name, min(done, total), total)
    rows.close()
    return written


def index_articles(tgt: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """The articles' full-text rows, as bot.store.dialect.index_article writes them: the
    title, and the text or, before there is any, the feed's summary."""
    vector = dialect.TSVECTOR
    tgt.execute(sa.text(
        f"INSERT INTO {FTS} (rowid, title, body) VALUES (:id, {vector.format(':title')}, "
        f"{vector.format(':body')}) ON CONFLICT (rowid) DO NOTHING"),
        [{"id": r["id"], "title": fts.index_text(r["title"] or ""),
          "body": fts.index_text(r["text"] or r["summary"] or "")} for r in rows])


def set_sequences(tgt: sa.Connection) -> None:
    """Each id sequence past the largest id copied: the next row a worker adds gets a new one."""
    for table in TABLES:
        (key, *more) = table.primary_key.columns
        if more or not isinstance(key.type, sa.Integer):
            continue
        sequence = tgt.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": table.name, "c": key.name}).scalar()
        if sequence:
            tgt.execute(sa.text(f"SELECT setval(:s, COALESCE((SELECT max({key.name}) FROM "
                                f"{table.name}), 0) + 1, false)"), {"s": sequence})


# --- keys and order ---------------------------------------------------------------------------

def last_key(tgt: sa.Connection, table: sa.Table) -> tuple | None:
    """The largest key the target holds, in SQLite's order (text compared byte-wise: PostgreSQL's
    "C" collation), or None when the table is empty there."""
    keys = list(table.primary_key.columns)
    order = [(k.collate("C") if isinstance(k.type, sa.String) else k).desc() for k in keys]
    row = tgt.execute(sa.select(*keys).order_by(*order).limit(1)).first()
    return tuple(row) if row is not None else None


def source_query(table: sa.Table, after: tuple | None) -> sa.Select:
    """The table's rows after key `after`, in key order; JSON as its stored text (a stored
    JSON null and an SQL NULL stay apart)."""
    keys = list(table.primary_key.columns)
    columns = [sa.type_coerce(c, sa.Text).label(c.name) if isinstance(c.type, sa.JSON) else c
               for c in table.columns]
    query = sa.select(*columns).order_by(*keys)
    if after is not None:
        query = query.where(keys[0] > after[0] if len(keys) == 1
                            else sa.tuple_(*keys) > sa.tuple_(*after))
    return query


def _insert(table: sa.Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING of every column from parameters p_<column> (JSON passed
    as its text and cast)."""
    values = {c.name: sa.cast(sa.bindparam(f"p_{c.name}", type_=sa.Text), JSONB)
              if isinstance(c.type, sa.JSON) else sa.bindparam(f"p_{c.name}", type_=c.type)
              for c in table.columns}
    return dialect.insert(dialect.POSTGRESQL, table).values(values).on_conflict_do_nothing()


# --- a target that is not this copy's ---------------------------------------------------------

def check_target(src: sa.Connection, tgt: sa.Connection, totals: Mapping[str, int],
                 present: Mapping[str, int]) -> None:
    """Refuse a target holding what this source does not: more rows than it, or a first or last
    row (by key) that differs from the source's row of that key (another archive's articles
    under the same ids, or this one's changed since an interrupted copy)."""
    for table in TABLES:
        if not present[table.name]:
            continue
        if present[table.name] > totals[table.name]:
            raise _foreign(table.name, f"{present[table.name]} rows, the source "
                                       f"{totals[table.name]}")
        keys = list(table.primary_key.columns)
        for ends in (False, True):
            order = [(k.collate("C") if isinstance(k.type, sa.String) else k) for k in keys]
            row = tgt.execute(sa.select(table).order_by(
                *(o.desc() if ends else o for o in order)).limit(1)).mappings().first()
            if row is None:
                continue
            key = {k.name: row[k.name] for k in keys}
            theirs = src.execute(sa.select(table).where(
                *(k == key[k.name] for k in keys))).mappings().first()
            if theirs is None or dict(theirs) != dict(row):
                what = ", ".join(f"{k}={v!r}" for k, v in key.items())
                raise _foreign(table.name, f"its row {what} is not the source's")
        tgt.commit()


def _foreign(table: str, why: str) -> StorageError:
    return StorageError(f"archive copy: the target already holds another archive's data "
                        f"({table}: {why}), or this archive changed since a copy into it was "
                        "interrupted; copy into an empty database")


def _count(db: sa.Connection, table: str) -> int:
    return db.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def shown(url: str) -> str:
    """A database URL as it may be printed: its password starred."""
    try:
        return sa.engine.make_url(url).render_as_string()  # no password
    except sa.exc.ArgumentError:
        return repr(url)


@contextmanager
def opened(source_url: str, to: str) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    """The source archive, read only, and the target, its schema made at head, as engines."""
    url = target_url(to)
    source_file(source_url)
    source = open_archive(source_url, read_only=True)
    try:
        target = open_archive(url)
    except StorageError:
        source.close()
        raise
    try:
        yield source.engine, target.engine
    finally:
        target.close()
        source.close()
