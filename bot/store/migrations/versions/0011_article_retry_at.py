"""When a page that failed for a passing reason may be fetched again (back-off per attempt).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("retry_at", sa.DateTime))  # SQLite: no table copy


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("retry_at")
