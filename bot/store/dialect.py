"""What differs between SQLite and PostgreSQL, in one place: "insert if absent" and upserts
(each dialect's `insert … on conflict`), JSON arrays read as rows, the full-text index (SQLite's
FTS5 table; PostgreSQL `tsvector` columns over the same tokens, with a GIN index) and locks
(PostgreSQL advisory locks; SQLite has one writer, held by a lock file: bot.lock).

Everything else the store says is SQLAlchemy Core that both dialects compile."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from bot.store import fts

POSTGRESQL = "postgresql"
# advisory lock keys: one number per thing done once in the cluster
# articles written (found or added by their keys, completed, grouped in a story): by one worker
# at a time, so two workers never add one item twice or start two stories for one event
ARTICLE_WRITES = 0x7465_6368_0001
POSTING_LOCK = 0x7465_6368_0002  # planning and posting to Slack
HOUSEKEEPING_LOCK = 0x7465_6368_0003


class json_items(FunctionElement):  # noqa: N801 -- used as a SQL function
    """The values of a JSON array (a JSON column or a parameter holding one) as rows, in a
    column named `value`: SQLite's json_each, PostgreSQL's json_array_elements_text."""

    inherit_cache = True
    name = "json_items"


@compiles(json_items, "sqlite")
def _json_each(element: json_items, compiler: Any, **kw: Any) -> str:
    return f"json_each({compiler.process(element.clauses, **kw)})"


@compiles(json_items, POSTGRESQL)
def _json_elements(element: json_items, compiler: Any, **kw: Any) -> str:
    return f"json_array_elements_text(CAST({compiler.process(element.clauses, **kw)} AS JSON))"


class greatest(FunctionElement):  # noqa: N801
    """The larger of two values (SQLite's two-argument max)."""

    inherit_cache = True
    name = "greatest"


@compiles(greatest, "sqlite")
def _max(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(greatest, POSTGRESQL)
def _greatest(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"greatest({compiler.process(element.clauses, **kw)})"


def json_values(name: str) -> sa.Select:
    """SELECT the values of the JSON array in parameter `name` (many values, one parameter)."""
    return sa.select(json_items(sa.bindparam(name)).table_valued("value").c.value)


def insert(on: str | sa.Connection | sa.Engine, table: sa.Table) -> Any:
    """The INSERT of a dialect (or a connection's), which has on_conflict_do_nothing and
    on_conflict_do_update."""
    if (on if isinstance(on, str) else on.dialect.name) == POSTGRESQL:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)


def is_postgresql(db: sa.Connection | sa.Engine) -> bool:
    return db.dialect.name == POSTGRESQL


# --- the full-text index -----------------------------------------------------------------

FTS5_TABLE = ("CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, "
              "tokenize = 'porter unicode61 remove_diacritics 2')")  # as migration 0001 makes it
# PostgreSQL: the same bigram tokens, English stemmed; a title match weighs ten body ones (A/B)
PG_FTS_TABLE = (
    "CREATE TABLE articles_fts (rowid INTEGER PRIMARY KEY, title TSVECTOR NOT NULL, "
    "body TSVECTOR NOT NULL, doc TSVECTOR GENERATED ALWAYS AS "
    "(setweight(title, 'A') || setweight(body, 'B')) STORED)",
    "CREATE INDEX ix_articles_fts_doc ON articles_fts USING gin (doc)",
    "CREATE INDEX ix_articles_fts_title ON articles_fts USING gin (title)")
TSVECTOR = "to_tsvector('english', {})"


def create_fts(db: sa.Connection) -> None:
    """The full-text index's tables (a new archive, or migration 0001)."""
    for statement in PG_FTS_TABLE if is_postgresql(db) else (FTS5_TABLE,):
        db.exec_driver_sql(statement)


def index_article(db: sa.Connection, article_id: int, *, title: str | None = None,
                  body: str | None = None, new: bool = False) -> None:
    """Write an article's title and/or body into the full-text index."""
    values = {"id": article_id, "title": fts.index_text(title or ""),
              "body": fts.index_text(body or "")}
    pg = is_postgresql(db)
    if new:
        db.execute(sa.text(
            f"INSERT INTO articles_fts(rowid, title, body) VALUES (:id, "
            f"{TSVECTOR.format(':title')}, {TSVECTOR.format(':body')})" if pg else
            "INSERT INTO articles_fts(rowid, title, body) VALUES (:id, :title, :body)"), values)
        return
    columns = [c for c, v in (("title", title), ("body", body)) if v is not None]
    assignments = ", ".join(f"{c} = {TSVECTOR.format(':' + c) if pg else ':' + c}"
                            for c in columns)
    db.execute(sa.text(f"UPDATE articles_fts SET {assignments} WHERE rowid = :id"), values)


def unindex_article(db: sa.Connection, article_id: int) -> None:
    db.execute(sa.text("DELETE FROM articles_fts WHERE rowid = :id"), {"id": article_id})


def optimize(db: sa.Connection) -> None:
    """Merge the full-text index's segments and refresh the query planner's statistics."""
    if is_postgresql(db):
        db.exec_driver_sql("ANALYZE")  # autovacuum merges GIN's pending list
        return
    db.exec_driver_sql("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
    db.exec_driver_sql("PRAGMA optimize")


# --- locks --------------------------------------------------------------------------------

def transaction_lock(db: sa.Connection, key: int) -> None:
    """Hold `key` until this transaction ends (PostgreSQL; SQLite's writer is alone)."""
    if is_postgresql(db):
        db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def try_session_lock(db: sa.Connection, key: int) -> bool:
    """Take `key` for as long as this connection holds it, if no one else does."""
    return bool(db.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())


def release_session_lock(db: sa.Connection, key: int) -> None:
    db.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
