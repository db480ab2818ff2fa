"""Watches: a channel's search queries it is alerted on, and the articles each matched.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import Json

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("query", sa.String, nullable=False),
        sa.Column("relevant_only", sa.Boolean, nullable=False),
        sa.Column("topics", Json),
        sa.Column("lang", sa.String),
        sa.Column("created_by", sa.String),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_watches_channel", "watches", ["channel"])
    op.create_table(
        "watch_matches",
        sa.Column("watch_key", sa.String, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
        sa.Column("matched_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_watch_matches_matched_at", "watch_matches", ["matched_at"])


def downgrade() -> None:
    op.drop_table("watch_matches")
    op.drop_table("watches")
