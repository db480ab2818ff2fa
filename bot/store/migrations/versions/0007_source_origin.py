"""Where a source came from: the config file (NULL) or `techwatch sources add` ("added").

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("origin", sa.String))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("origin")
