"""Event grouping: what each article is compared by, the recent window's term index, and the
archive's document frequencies.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import Json

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("story_terms", Json))
    op.create_table(
        "event_terms",
        sa.Column("term", sa.String, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
        sa.Column("first_seen", sa.DateTime, nullable=False),
    )
    op.create_table(
        "term_documents",
        sa.Column("term", sa.String, primary_key=True),
        sa.Column("documents", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("term_documents")
    op.drop_table("event_terms")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("story_terms")
