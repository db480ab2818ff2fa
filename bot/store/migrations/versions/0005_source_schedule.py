"""Sources remember their adaptive interval, the hours they ask not to be polled, when a user
disabled them, and when their current (or last) run of failures began.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import Json

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ("interval_minutes", "skip_hours", "skip_days", "disabled_at", "failing_since",
           "recovered_from")


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("interval_minutes", sa.Float))
        batch.add_column(sa.Column("skip_hours", Json))
        batch.add_column(sa.Column("skip_days", Json))
        batch.add_column(sa.Column("disabled_at", sa.DateTime))
        batch.add_column(sa.Column("failing_since", sa.DateTime))
        batch.add_column(sa.Column("recovered_from", sa.DateTime))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
