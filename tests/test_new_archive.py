"""A new archive is made from the table definitions at once and stamped with the head revision
(not by running every migration since the first): it must be exactly the schema the migrations
build, or archives would differ by their age."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa

from bot.store.database import _engine, migrate, open_archive


def describe(path: Path) -> dict:
    """Every table, index and virtual table, as SQLite itself describes them."""
    with closing(sqlite3.connect(path)) as db:
        found = {}
        for name, kind, sql in db.execute("SELECT name, type, sql FROM sqlite_master "
                                          "WHERE name NOT LIKE 'sqlite_%'"):
            if kind == "table":
                found[name] = (db.execute(f"PRAGMA table_xinfo('{name}')").fetchall(),
                               db.execute(f"PRAGMA foreign_key_list('{name}')").fetchall(),
                               sorted(row[1:] for row in  # (its order is the creation's)
                                      db.execute(f"PRAGMA index_list('{name}')")),
                               sql if sql.startswith("CREATE VIRTUAL") else None)
            elif kind == "index":
                partial = sql.split(" WHERE ", 1)[1] if sql and " WHERE " in sql else None
                found[name] = (db.execute(f"PRAGMA index_xinfo('{name}')").fetchall(), partial)
        found["alembic_version"] += tuple(db.execute("SELECT * FROM alembic_version"))
        return found


def test_a_new_archive_is_the_schema_the_migrations_build(tmp_path):
    migrated = tmp_path / "migrated.db"
    engine = _engine(f"sqlite:///{migrated}", migrated, pragmas=())
    migrate(engine, "head")
    engine.dispose()
    created = tmp_path / "created.db"
    open_archive(f"sqlite:///{created}").close()
    assert describe(created) == describe(migrated)
    assert len(describe(created)) > 20


def test_a_new_archive_works_and_upgrades_later(tmp_path):
    """Made at once, it is used and reopened like any other (no migration runs again)."""
    path = tmp_path / "new.db"
    archive = open_archive(f"sqlite:///{path}")
    archive.ensure_source("s", "S")
    archive.close()
    again = open_archive(f"sqlite:///{path}", read_only=True)
    try:
        assert [r.id for r in again.source_rows()] == ["s"]
    finally:
        again.close()


PG_COLUMNS = """SELECT table_name, column_name, data_type, is_nullable, column_default,
    is_generated, generation_expression FROM information_schema.columns
    WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"""
PG_CONSTRAINTS = """SELECT c.conrelid::regclass::text, c.conname, c.contype,
    pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE n.nspname = current_schema() ORDER BY 1, 2"""
PG_INDEXES = """SELECT tablename, indexname, indexdef FROM pg_indexes
    WHERE schemaname = current_schema() ORDER BY 1, 2"""


def describe_postgresql(engine: sa.Engine) -> dict:
    """Every column (in its table's order), constraint and index, as PostgreSQL's catalogs
    describe them, and the revision stamped."""
    with engine.connect() as db:
        return {name: db.exec_driver_sql(sql).all() for name, sql in (
            ("columns", PG_COLUMNS), ("constraints", PG_CONSTRAINTS), ("indexes", PG_INDEXES),
            ("revision", "SELECT version_num FROM alembic_version"))}


def test_a_new_postgresql_archive_is_the_schema_the_migrations_build():
    """On PostgreSQL too: every migration from the first, run on an empty database, builds the
    schema open_archive makes at once (the tables, the full-text table and its GIN indexes)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from pgdb import throwaway_database

    from bot.store.schema import managed_by_alembic, metadata

    with throwaway_database() as migrated_url, throwaway_database() as created_url:
        migrated = sa.create_engine(migrated_url)
        try:
            migrate(migrated, "head")
            with migrated.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"include_name": managed_by_alembic})
                diff = compare_metadata(context, metadata)
            built = describe_postgresql(migrated)
        finally:
            migrated.dispose()
        archive = open_archive(created_url)
        try:
            made = describe_postgresql(archive.engine)
        finally:
            archive.close()
    assert diff == []
    assert made == built
    tables = {table for table, *_ in made["columns"]}
    assert {"articles", "articles_fts", "sources", "deliveries", "workers"} <= tables
    assert {"ix_articles_fts_doc", "ix_articles_fts_title"} <= {i for _, i, _ in made["indexes"]}
