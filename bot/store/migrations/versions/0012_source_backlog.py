"""A source first seen with more new items than a poll takes: its items are a backlog (archived,
not alerted), taken a poll's share at a time until none is left.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("backlog", sa.Boolean))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("backlog")
