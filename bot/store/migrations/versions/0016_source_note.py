"""A source's note: the category (folder) a feed had in the OPML it was imported from, written
back when the sources are exported (`techwatch sources import/export`).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("note", sa.String))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("note")
