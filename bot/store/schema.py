"""Tables as SQLAlchemy Core metadata. Changes go through a new Alembic migration, never here alone."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite keeps no zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if isinstance(value, datetime) else value


# JSON; in PostgreSQL jsonb (comparable, so an index may hold it: ix_articles_search's topics)
Json = sa.JSON().with_variant(JSONB(), "postgresql")
metadata = sa.MetaData()

sources = sa.Table(
    "sources", metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("url", sa.String, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("lang", sa.String),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("etag", sa.String),
    sa.Column("last_modified", sa.String),
    sa.Column("body_hash", sa.String),
    sa.Column("feed_format", sa.String),
    sa.Column("last_status", sa.String, nullable=False, default="never polled"),
    sa.Column("last_error", sa.String),
    sa.Column("warning", sa.String),
    sa.Column("consecutive_errors", sa.Integer, nullable=False, default=0),
    sa.Column("last_polled_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_new_item_at", UTCDateTime),
    sa.Column("next_poll_at", UTCDateTime),
    sa.Column("interval_minutes", sa.Float),  # the adaptive interval of the last poll with items
    sa.Column("skip_hours", Json),  # RSS <skipHours>: UTC hours (0-23) not to poll in
    sa.Column("skip_days", Json),  # RSS <skipDays>: weekday names not to poll on
    sa.Column("disabled_at", UTCDateTime),  # `techwatch sources disable`: not polled until enabled
    sa.Column("failing_since", UTCDateTime),  # the first failure of the current run of failures
    sa.Column("recovered_from", UTCDateTime),  # failing_since of the run that the last success ended
    sa.Column("origin", sa.String),  # None: the config file; "added": `techwatch sources add`;
    # "slack": `/techwatch add-source`
    sa.Column("backlog", sa.Boolean),  # first seen with more new items than a poll takes: the
    # items still being taken are a backlog (archived, not alerted)
    sa.Column("claimed_by", sa.String),  # the worker polling it now (bot.store.cluster)
    sa.Column("claimed_until", UTCDateTime),  # its lease: a dead worker's claim lapses then
    sa.Column("note", sa.String),  # a user's label: the category an OPML import gave it
)

articles = sa.Table(
    "articles", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_id", sa.String, nullable=False, index=True),
    sa.Column("url", sa.String, nullable=False),
    sa.Column("canonical_url", sa.String, nullable=False, unique=True),
    sa.Column("guid", sa.String),
    sa.Column("title", sa.String, nullable=False),
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.Column("text", sa.Text, nullable=False, default=""),
    sa.Column("author", sa.String),
    sa.Column("site_name", sa.String),
    sa.Column("publisher", sa.String),
    sa.Column("lang", sa.String),
    sa.Column("feed_published", UTCDateTime),
    sa.Column("page_published", UTCDateTime),
    sa.Column("published", UTCDateTime),
    sa.Column("date_source", sa.String),
    sa.Column("first_seen", UTCDateTime, nullable=False, index=True),
    sa.Column("state", sa.String, nullable=False, default="pending", index=True),
    sa.Column("fetch_fulltext", sa.Boolean, nullable=False, default=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("extraction_status", sa.String),
    sa.Column("extraction_note", sa.String),
    sa.Column("extractor_version", sa.String),
    sa.Column("relevant", sa.Boolean),
    sa.Column("score", sa.Float),
    sa.Column("topics", Json),
    sa.Column("evidence", Json),
    sa.Column("updated_at", UTCDateTime),
    sa.Column("signals", Json),  # {"actors": {"us": [...], "japan": [...]}, "cues": [...]}
    sa.Column("story_id", sa.Integer, index=True),  # the first article of its story; None: its own
    sa.Column("minhash", sa.LargeBinary),
    sa.Column("origin", sa.String),  # None: a feed; "added" (techwatch add), "backfill"
    sa.Column("story_terms", Json),  # what event grouping compares (bot.stories.events)
    sa.Column("retry_at", UTCDateTime),  # a page that failed for a passing reason waits till
    sa.Column("claimed_by", sa.String),  # the worker fetching its page now (bot.store.cluster)
    sa.Column("claimed_until", UTCDateTime),  # its lease: a dead worker's claim lapses then
)
# what a search ranks and filters by, readable without the article rows (bot.store.search)
sa.Index("ix_articles_search", articles.c.id, articles.c.story_id, articles.c.relevant,
         articles.c.lang, articles.c.published, articles.c.first_seen, articles.c.topics)
sa.Index("ix_articles_textless", articles.c.id, sqlite_where=articles.c.text == "",
         postgresql_where=articles.c.text == "")

item_keys = sa.Table(
    "item_keys", metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), nullable=False, index=True),
)

raw_pages = sa.Table(
    "raw_pages", metadata,
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
    sa.Column("fetched_url", sa.String, nullable=False),
    sa.Column("http_status", sa.Integer),
    sa.Column("content_type", sa.String),
    sa.Column("html_gz", sa.LargeBinary, nullable=False),
    sa.Column("extractor_version", sa.String),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
)

fetch_log = sa.Table(
    "fetch_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("source_id", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),  # "feed" or "article"
    sa.Column("url", sa.String, nullable=False),
    sa.Column("outcome", sa.String, nullable=False),
    sa.Column("detail", sa.String),
)

digests = sa.Table(
    "digests", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String, nullable=False, index=True),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("covered_until", UTCDateTime, nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
)

digest_items = sa.Table(
    "digest_items", metadata,  # which article went into which channel's digest: once only
    sa.Column("channel", sa.String, primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
    sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id"), nullable=False),
)

deliveries = sa.Table(
    "deliveries", metadata,  # the ledger: a message is recorded before it is posted
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String, nullable=False, unique=True),  # what it is: exactly once
    sa.Column("channel", sa.String, nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),  # digest, alert, alert_note
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id")),
    sa.Column("parent_key", sa.String),  # a thread reply: the key of the message it answers
    sa.Column("payload", Json, nullable=False),  # {"text": ..., "blocks": [...]}
    sa.Column("status", sa.String, nullable=False, index=True),  # pending, sent, failed, rolled
    sa.Column("ts", sa.String),  # Slack's id of the posted message
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.String),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("permalink", sa.String),  # chat.getPermalink's link: None not yet asked (or
    # Slack could not answer then), "" Slack has none (the message is gone)
)

backfill_sitemaps = sa.Table(
    "backfill_sitemaps", metadata,  # sitemaps a backfill has read to the end
    sa.Column("url", sa.String, primary_key=True),
    sa.Column("source_id", sa.String, nullable=False),
    sa.Column("urls", sa.Integer, nullable=False),
    sa.Column("done_at", UTCDateTime, nullable=False),
)

subscriptions = sa.Table(
    "subscriptions", metadata,  # real-time alerts a channel asked for in Slack
    sa.Column("channel", sa.String, primary_key=True),
    sa.Column("topic", sa.String, primary_key=True),  # "*": every topic
    sa.Column("min_score", sa.Float, nullable=False),
    sa.Column("created_by", sa.String),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

watches = sa.Table(
    "watches", metadata,  # a channel's search queries it is alerted on, made in Slack
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String, nullable=False, index=True),
    sa.Column("query", sa.String, nullable=False),
    sa.Column("relevant_only", sa.Boolean, nullable=False),
    sa.Column("topics", Json),  # [] or null: any topic
    sa.Column("lang", sa.String),  # null: any language
    sa.Column("created_by", sa.String),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

watch_matches = sa.Table(
    "watch_matches", metadata,  # which articles a watch matched, for `/techwatch watches`
    sa.Column("watch_key", sa.String, primary_key=True),  # "slack:<id>" or "config:<n>"
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
    sa.Column("matched_at", UTCDateTime, nullable=False, index=True),
)

feedback = sa.Table(
    "feedback", metadata,  # a reader's vote on an article, with what the classifier said then
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), nullable=False, index=True),
    sa.Column("user", sa.String, nullable=False),
    sa.Column("vote", sa.String, nullable=False),  # relevant, not_relevant, not_topic
    sa.Column("topic", sa.String),  # the topic a not_topic vote is about
    sa.Column("predicted_relevant", sa.Boolean),
    sa.Column("predicted_score", sa.Float),
    sa.Column("predicted_topics", Json),
    sa.Column("channel", sa.String),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("article_id", "user", "vote", "topic", name="uq_feedback_vote"),
)

story_bands = sa.Table(
    "story_bands", metadata,  # LSH index of MinHash signatures: texts sharing a band are candidates
    sa.Column("band", sa.String, primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
    sa.Column("first_seen", UTCDateTime, nullable=False),
)

channel_holds = sa.Table(
    "channel_holds", metadata,  # channels Slack refused: tried again later, less often
    sa.Column("channel", sa.String, primary_key=True),
    sa.Column("error", sa.String, nullable=False),
    sa.Column("since", UTCDateTime, nullable=False),
    sa.Column("tries", sa.Integer, nullable=False),
    sa.Column("retry_at", UTCDateTime, nullable=False),
)

event_terms = sa.Table(
    "event_terms", metadata,  # the recent window's articles by their rarest lead terms and names
    sa.Column("term", sa.String, primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
    sa.Column("first_seen", UTCDateTime, nullable=False),
)

term_documents = sa.Table(
    "term_documents", metadata,  # in how many articles each term occurs; "" counts the articles
    sa.Column("term", sa.String, primary_key=True),
    sa.Column("documents", sa.Integer, nullable=False),
)


workers = sa.Table(
    "workers", metadata,  # the `techwatch run` processes sharing the archive, by heartbeat
    sa.Column("id", sa.String, primary_key=True),  # host:pid:random
    sa.Column("host", sa.String, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    sa.Column("stopped_at", UTCDateTime),  # a clean stop; a killed worker's heartbeat just ages
)


def managed_by_alembic(name: str | None, type_: str, parent_names: dict) -> bool:
    """Autogenerate compares the tables above; the full-text index (FTS5 and its shadow tables,
    or PostgreSQL's tsvector table) is created by raw SQL and left out of the comparison."""
    return not (type_ in ("table", "index") and name is not None
                and name.startswith(("articles_fts", "ix_articles_fts")))
