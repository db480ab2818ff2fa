"""Indexes that let a search rank its matches without reading their article rows.

`ix_articles_search` holds what ranking and the filters read (story, relevant, lang, dates,
topics) beside the id, so a thousand matches cost a thousand narrow index reads, not a thousand
article rows whose text (kilobytes, in overflow pages) lies before those columns. The partial
`ix_articles_textless` tells the few articles without text (a feed's summary only) apart.
SQLite builds both in place on upgrade (seconds per 100,000 articles).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_search", "articles",
                    ["id", "story_id", "relevant", "lang", "published", "first_seen", "topics"])
    op.create_index("ix_articles_textless", "articles", ["id"],
                    sqlite_where=sa.text("text = ''"), postgresql_where=sa.text("text = ''"))


def downgrade() -> None:
    op.drop_index("ix_articles_textless", "articles")
    op.drop_index("ix_articles_search", "articles")
