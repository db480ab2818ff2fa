"""The archive: SQLAlchemy Core tables, Alembic migrations and every query (the only SQL)."""

from bot.store.archive import Archive
from bot.store.database import open_archive

__all__ = ["Archive", "open_archive"]
