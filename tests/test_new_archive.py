"""A new archive is made from the table definitions at once and stamped with the head revision
(not by running every migration since the first): it must be exactly the schema the migrations
build, or archives would differ by their age."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

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
