"""A posted message's permalink (chat.getPermalink), so a story's page on the web links the Slack
messages it went out in.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("permalink", sa.String))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("permalink")
