"""Initial archive: sources, articles with their identity keys, raw pages, fetch log, digests, FTS.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from bot.store.dialect import create_fts
from bot.store.schema import Json

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("url", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("lang", sa.String),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("etag", sa.String),
        sa.Column("last_modified", sa.String),
        sa.Column("body_hash", sa.String),
        sa.Column("feed_format", sa.String),
        sa.Column("last_status", sa.String, nullable=False),
        sa.Column("last_error", sa.String),
        sa.Column("warning", sa.String),
        sa.Column("consecutive_errors", sa.Integer, nullable=False),
        sa.Column("last_polled_at", sa.DateTime),
        sa.Column("last_success_at", sa.DateTime),
        sa.Column("last_new_item_at", sa.DateTime),
        sa.Column("next_poll_at", sa.DateTime),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.String, nullable=False, index=True),
        sa.Column("url", sa.String, nullable=False),
        sa.Column("canonical_url", sa.String, nullable=False, unique=True),
        sa.Column("guid", sa.String),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author", sa.String),
        sa.Column("site_name", sa.String),
        sa.Column("publisher", sa.String),
        sa.Column("lang", sa.String),
        sa.Column("feed_published", sa.DateTime),
        sa.Column("page_published", sa.DateTime),
        sa.Column("published", sa.DateTime),
        sa.Column("date_source", sa.String),
        sa.Column("first_seen", sa.DateTime, nullable=False, index=True),
        sa.Column("state", sa.String, nullable=False, index=True),
        sa.Column("fetch_fulltext", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("extraction_status", sa.String),
        sa.Column("extraction_note", sa.String),
        sa.Column("extractor_version", sa.String),
        sa.Column("relevant", sa.Boolean),
        sa.Column("score", sa.Float),
        sa.Column("topics", Json),
        sa.Column("evidence", Json),
        sa.Column("updated_at", sa.DateTime),
    )
    op.create_table(
        "item_keys",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), nullable=False,
                  index=True),
    )
    op.create_table(
        "raw_pages",
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
        sa.Column("fetched_url", sa.String, nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("content_type", sa.String),
        sa.Column("html_gz", sa.LargeBinary, nullable=False),
        sa.Column("extractor_version", sa.String),
        sa.Column("fetched_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "fetch_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False, index=True),
        sa.Column("source_id", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("url", sa.String, nullable=False),
        sa.Column("outcome", sa.String, nullable=False),
        sa.Column("detail", sa.String),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String, nullable=False, index=True),
        sa.Column("sent_at", sa.DateTime, nullable=False),
        sa.Column("covered_until", sa.DateTime, nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
    )
    # Title and text, with CJK runs written as overlapping bigrams (see bot.store.fts).
    create_fts(op.get_bind())  # SQLite: FTS5; PostgreSQL: tsvector columns, GIN-indexed


def downgrade() -> None:
    op.execute("DROP TABLE articles_fts")
    for table in ("digests", "fetch_log", "raw_pages", "item_keys", "articles", "sources"):
        op.drop_table(table)
