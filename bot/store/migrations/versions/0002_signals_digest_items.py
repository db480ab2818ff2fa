"""Classifier signals beside the topic evidence (the US and Japan actors named, the cues), and
the ledger of which article went into which channel's digest.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import Json

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("signals", Json))
    op.create_table(
        "digest_items",
        sa.Column("channel", sa.String, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
        sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("digest_items")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("signals")
