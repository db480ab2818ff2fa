"""The delivery ledger: every Slack message, recorded before it is posted and updated after.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import Json

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String, nullable=False, unique=True),
        sa.Column("channel", sa.String, nullable=False, index=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id")),
        sa.Column("parent_key", sa.String),
        sa.Column("payload", Json, nullable=False),
        sa.Column("status", sa.String, nullable=False, index=True),
        sa.Column("ts", sa.String),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
    )


def downgrade() -> None:
    op.drop_table("deliveries")
