"""Channels Slack refused, with their back-off, so a dead channel is not tried every cycle.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_holds",
        sa.Column("channel", sa.String, primary_key=True),
        sa.Column("error", sa.String, nullable=False),
        sa.Column("since", sa.DateTime, nullable=False),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("retry_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_holds")
