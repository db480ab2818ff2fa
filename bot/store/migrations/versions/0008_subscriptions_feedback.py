"""Channel subscriptions made in Slack (beside the config's), and readers' feedback on articles.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import Json

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("channel", sa.String, primary_key=True),
        sa.Column("topic", sa.String, primary_key=True),  # "*": every topic
        sa.Column("min_score", sa.Float, nullable=False),
        sa.Column("created_by", sa.String),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), nullable=False,
                  index=True),
        sa.Column("user", sa.String, nullable=False),
        sa.Column("vote", sa.String, nullable=False),
        sa.Column("topic", sa.String),
        sa.Column("predicted_relevant", sa.Boolean),
        sa.Column("predicted_score", sa.Float),
        sa.Column("predicted_topics", Json),
        sa.Column("channel", sa.String),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("article_id", "user", "vote", "topic", name="uq_feedback_vote"),
    )


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("subscriptions")
