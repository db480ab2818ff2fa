"""Classifier signals beside the topic evidence: the US and Japan actors named, and the cues.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("signals", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("signals")
