"""Several workers on one archive: the workers by heartbeat, and leases on the sources and
articles a worker is working on (a dead worker's lapse and return to the others).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("sources", "articles"):  # added in place: SQLite copies no table
        op.add_column(table, sa.Column("claimed_by", sa.String))
        op.add_column(table, sa.Column("claimed_until", sa.DateTime))
    op.create_table(
        "workers",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("host", sa.String, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
        sa.Column("stopped_at", sa.DateTime),
    )


def downgrade() -> None:
    op.drop_table("workers")
    for table in ("articles", "sources"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("claimed_until")
            batch.drop_column("claimed_by")
