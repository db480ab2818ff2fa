"""Where an article came from (a feed, `techwatch add`, a backfill), and the sitemaps a backfill
has finished (so an interrupted one resumes without reading them again).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("origin", sa.String))
    op.create_table(
        "backfill_sitemaps",
        sa.Column("url", sa.String, primary_key=True),
        sa.Column("source_id", sa.String, nullable=False),
        sa.Column("urls", sa.Integer, nullable=False),
        sa.Column("done_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("backfill_sitemaps")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("origin")
