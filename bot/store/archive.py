"""Every read and write of the archive. Writes of one source's poll happen in one transaction."""

from __future__ import annotations

import gzip
import json
import logging
import re
import sqlite3
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.config import StorySettings
from bot.errors import ArchiveDamaged, StorageError
from bot.feeds.identity import same_site
from bot.models import (
    ArticleDraft,
    ArticleView,
    ChannelHold,
    Classification,
    Delivery,
    ExtractedText,
    PendingArticle,
    PollOutcome,
    SlackMessage,
    Source,
    SourceHealth,
    SourceState,
)
from bot.store import fts
from bot.store.schema import (
    UTCDateTime,
    articles,
    backfill_sitemaps,
    channel_holds,
    deliveries,
    digest_items,
    digests,
    event_terms,
    feedback,
    fetch_log,
    item_keys,
    metadata,
    raw_pages,
    sources,
    story_bands,
    subscriptions,
    term_documents,
)
from bot.store.search import search as search_archive
from bot.stories import events, minhash
from bot.stories.events import StoryTerms

if TYPE_CHECKING:
    from alembic.config import Config  # Alembic loads only to migrate

    from bot.analysis import ArticleResult, RawPage, StoryInput  # the classifier: not to read

log = logging.getLogger("techwatch")
SEED_SOURCE = "seed"
ADDED_SOURCE = "added"  # the source of articles given to `techwatch add`
SLACK_ORIGIN = "slack"  # a source's origin when added from Slack ("added": from the terminal)
ADDED_ORIGINS = ("added", SLACK_ORIGIN)
BACKLOG = "backlog"  # an article's origin: a feed first seen with more items than a poll takes
ALL_DOCUMENTS = ""  # the term_documents row that counts the articles
# the most recent copies a new article is compared with: a story syndicated a thousand times
# costs no more than one syndicated two hundred times
COPY_CANDIDATES = 200
STORY_MEMBERS = 50  # a story's most recent reports that a new one must mostly share names with
TERMS_HELD = 100_000  # document frequencies held in memory (about 13 MB)
COMPARED_HELD = 1_000  # recently compared articles' parsed story terms (about 15 KB each)
# what readers' queries select: not the grouping's working data (signature, story terms)
READ_COLUMNS = [c for c in articles.c if c.name not in ("minhash", "story_terms")]
ALERT_KINDS = ("alert", "rolled", "alert_reply", "alert_member")  # an article's alert is settled


class FetchLogged(NamedTuple):
    """A line of the fetch log."""

    at: datetime
    source_id: str
    kind: str  # "feed" or "article"
    url: str
    outcome: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class PollWrite:
    """Counts of what one poll wrote."""

    new: int
    updated: int


def archive_file(url: str) -> Path | None:
    """The SQLite file a database URL names (None: in memory, or not a file URL)."""
    try:
        path = sa.engine.make_url(url).database
    except sa.exc.ArgumentError:
        return None
    return Path(path) if path and path != ":memory:" else None


def check_location(url: str) -> None:
    """Raise StorageError when an archive could not be made at `url` (a file where its folder
    would be): said even by a command that only reads and so makes nothing."""
    file = archive_file(url)
    if file is not None:
        folder = next((p for p in file.parents if p.exists()), None)
        if folder is not None and not folder.is_dir():
            raise StorageError(f"database {url}: {folder} is not a directory")


def open_archive(url: str, *, read_only: bool = False) -> Archive:
    """Open (creating and migrating as needed) the archive at a SQLAlchemy SQLite URL.
    `read_only`, for a command that only reads: an existing file is opened without a single
    write (no migration unless its schema is older, no WAL switch), so a read-only file or
    directory (another user's archive, a backup) can be read."""
    file = archive_file(url)
    if read_only and file is not None:
        return _open_reading(url, file)
    try:
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StorageError(f"database {url}: {e}") from None
    engine = _engine(url, file or url, pragmas=("journal_mode=WAL", "synchronous=NORMAL"))
    try:
        with engine.connect() as db:
            state = _schema_state(db)
        if state == "empty":
            _create(engine)
        elif state != "current":  # Alembic's own checks and messages for anything else
            _upgrade(engine, url)
    except sa.exc.SQLAlchemyError as e:
        engine.dispose()
        problem = str(e.orig if hasattr(e, "orig") else e)
        if "unable to open" in problem or "readonly" in problem:  # SQLite writes beside the file
            problem += " (the database file and its directory must be writable)"
        raise StorageError(f"database {url}: {problem}") from None
    except ArchiveDamaged:
        engine.dispose()
        raise
    return Archive(engine)


def _open_reading(url: str, file: Path, *, upgraded: bool = False) -> Archive:
    """The file opened for reading only (SQLite's `query_only`: a write would fail). Where the
    WAL's shared-memory file cannot be made beside it (a read-only directory: nobody writes
    there), it is read as immutable. An archive of an older schema is migrated first, as any
    command did before, if it can be."""
    problem = ""
    for mode in ("mode=rw", "mode=ro&immutable=1"):  # rw: read-only anyway on a read-only file
        engine = _engine(f"sqlite:///file:{quote(str(file.absolute()))}?{mode}&uri=true", file,
                         pragmas=("query_only=ON",))
        try:
            with engine.connect() as db:
                state = _schema_state(db)
        except sa.exc.SQLAlchemyError as e:
            engine.dispose()
            error = getattr(e, "orig", None) or e
            problem = problem or str(error)
            if getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_READONLY:
                continue
            break
        except ArchiveDamaged:
            engine.dispose()
            raise
        if state == "current":
            wal = file.with_name(f"{file.name}-wal")
            if "immutable" in mode and wal.exists() and wal.stat().st_size:
                log.warning("%s is read as of its last checkpoint: the writes in %s need a "
                            "writable directory to be read", file, wal)
            return Archive(engine, read_only=True)
        engine.dispose()
        if state == "newer" or upgraded:
            raise StorageError(f"database {url}: its schema is not one this version knows; use "
                               "the techwatch that wrote it, or another database")
        try:  # older: brought up to date first, as a writing command would
            open_archive(url).close()
        except StorageError as e:
            raise StorageError(f"{e}; it was written by an earlier techwatch and must be "
                               "upgraded once, which needs write access") from None
        return _open_reading(url, file, upgraded=True)
    raise StorageError(f"database {url}: {problem} (it must be a readable database file)")


FTS_TABLE = ("CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, "
             "tokenize = 'porter unicode61 remove_diacritics 2')")  # as migration 0001 makes it


def _create(engine: sa.Engine) -> None:
    """A new archive: the schema the migrations build (tests/test_store.py compares the two),
    made at once from the table definitions and stamped with the head revision, without
    running every migration since the first (or loading Alembic)."""
    (head,) = migration_revisions()[1]
    with engine.begin() as db:
        metadata.create_all(db)
        db.exec_driver_sql(FTS_TABLE)
        db.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                           "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")
        db.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
                   {"head": head})


def _upgrade(engine: sa.Engine, url: str) -> None:
    """Migrate to the head revision; one Alembic does not know (a newer techwatch's) is said."""
    from alembic.util.exc import CommandError

    try:
        migrate(engine, "head")
    except CommandError as e:  # e.g. a revision from a newer techwatch
        engine.dispose()
        raise StorageError(f"database {url}: its schema is not one this version knows ({e}); "
                           "use the techwatch that wrote it, or another database") from None


def _schema_state(db: sa.Connection) -> str:
    """current, empty (a new file), older (migrations to run) or newer (a revision this
    version lacks). Read without Alembic (a command that finds its schema current never loads
    it)."""
    tables = set(db.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'"))
                 .scalars())
    if not tables:
        return "empty"
    if "alembic_version" not in tables:
        return "older"
    current = set(db.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    revisions, heads = migration_revisions()
    if current == heads:
        return "current"
    return "newer" if current - revisions else "older"


_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(.*?)\s*$""", re.M)


@cache
def migration_revisions() -> tuple[frozenset[str], frozenset[str]]:
    """Every revision of the migrations folder, and the heads (those no other revision follows),
    read from the scripts' `revision = ...` and `down_revision = ...` lines, not by Alembic
    (tests/test_startup.py checks that they are Alembic's)."""
    revisions: set[str] = set()
    follows: set[str] = set()
    for script in (Path(__file__).parent / "migrations" / "versions").glob("*.py"):
        found = dict(_REVISION.findall(script.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        revisions.add(_literal(found["revision"]))
        down = found.get("down_revision", "None")
        follows.update(re.findall(r"""["']([^"']+)["']""", down))
    return frozenset(revisions), frozenset(revisions - follows)


def _literal(value: str) -> str:
    return value.strip().strip("\"'")


def _engine(url: str, name: Path | str, pragmas: tuple[str, ...]) -> sa.Engine:
    """An engine whose connections run `pragmas` (and enforce foreign keys), and that turns a
    damaged file into ArchiveDamaged: once, and for every use after it."""
    engine = sa.create_engine(url, connect_args={"timeout": 30},
                              json_serializer=lambda value: json.dumps(value, ensure_ascii=False))
    damage: list[str] = []  # what the first damaged read or write said

    def damaged(error: BaseException | None = None) -> ArchiveDamaged:
        if not damage:
            damage.append(_damage_message(name, error))
        return ArchiveDamaged(damage[0])

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        try:
            for pragma in (*pragmas, "foreign_keys=ON"):
                cursor.execute(f"PRAGMA {pragma}")
        except sqlite3.DatabaseError as e:
            if _is_damage(e):
                raise damaged(e) from None
            raise
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "handle_error")
    def _damage_seen(context):
        if damage or _is_damage(context.original_exception):
            raise damaged(context.original_exception) from None

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _damage_known(conn, cursor, statement, parameters, context, executemany):
        if damage:  # nothing more is read from or written to a damaged file
            raise damaged()

    return engine


def _is_damage(error: BaseException) -> bool:
    return getattr(error, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_CORRUPT,
                                                            sqlite3.SQLITE_NOTADB)


def _damage_message(name: Path | str, error: BaseException | None) -> str:
    return (f"database {name} is damaged ({error}): stop techwatch and restore a backup, or "
            f"recover what it holds with `sqlite3 {name} .recover | sqlite3 recovered.db` and "
            "point storage.database there")


def _alembic_config() -> Config:
    from alembic.config import Config

    return Config(str(Path(__file__).with_name("alembic.ini")))


def migrate(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    """Run the Alembic migrations to `revision`. Foreign keys are off meanwhile: SQLite alters a
    table by copying it, which a referenced table would refuse (the pragma only takes effect
    outside a transaction, hence the commit before it)."""
    from alembic import command

    config = _alembic_config()
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
        connection.commit()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def source_health(row: Any) -> str:
    """A `source_rows` row's state: ok, failing, gone (410: stopped), or disabled (by a user or
    gone from the config)."""
    if not row.enabled or row.disabled_at:
        return "disabled"
    if row.last_status == "error: gone":
        return "gone"
    return "failing" if row.failing_since else "ok"


class Archive:
    def __init__(self, engine: sa.Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only  # opened by a command that only reads: nothing is written
        self._terms = TermCounts()
        self._compared: OrderedDict[int, StoryTerms] = OrderedDict()  # least recent first

    def close(self) -> None:
        self.engine.dispose()

    # --- sources -------------------------------------------------------------------------

    def sync_sources(self, configured: Iterable[Source]) -> None:
        """Make the sources table follow the config; polling state of known sources is kept."""
        configured = list(configured)
        with self.engine.begin() as db:
            known = {r.id for r in db.execute(sa.select(sources.c.id))}
            for s in configured:
                values = {"url": s.url, "name": s.name, "lang": s.lang, "enabled": s.enabled,
                          "origin": None}  # now in the config: polled as the config's only
                if s.id in known:
                    update = sources.update().where(sources.c.id == s.id)
                    # a new URL for a source that was gone (or failing) gets a fresh start
                    db.execute(update.where(sources.c.url != s.url).values(
                        last_status="never polled", consecutive_errors=0, next_poll_at=None,
                        etag=None, last_modified=None, body_hash=None))
                    db.execute(update.values(**values))
                else:
                    db.execute(sources.insert().values(id=s.id, last_status="never polled",
                                                       consecutive_errors=0, **values))
            added = {r.id for r in db.execute(sa.select(sources.c.id).where(
                sources.c.origin.in_(ADDED_ORIGINS)))}
            gone = known - {s.id for s in configured} - {SEED_SOURCE, ADDED_SOURCE} - added
            if gone:
                db.execute(sources.update().where(sources.c.id.in_(gone)).values(enabled=False))

    def source_state(self, source_id: str) -> SourceState:
        with self.engine.connect() as db:
            row = db.execute(sa.select(sources).where(sources.c.id == source_id)).one_or_none()
        if row is None:
            return SourceState()
        return SourceState(etag=row.etag, last_modified=row.last_modified,
                           body_hash=row.body_hash, consecutive_errors=row.consecutive_errors,
                           next_poll_at=row.next_poll_at, gone=row.last_status == "error: gone",
                           interval_minutes=row.interval_minutes,
                           skip_hours=tuple(row.skip_hours or ()),
                           skip_days=tuple(row.skip_days or ()),
                           disabled=row.disabled_at is not None, failing_since=row.failing_since,
                           ever_polled=row.last_success_at is not None,
                           backlog=bool(row.backlog))

    def source_rows(self) -> list[Any]:
        with self.engine.connect() as db:
            query = sa.select(sources).where(sources.c.id.not_in((SEED_SOURCE, ADDED_SOURCE))) \
                .order_by(sources.c.id)
            return list(db.execute(query))

    def add_source(self, source: Source, now: datetime) -> None:
        """A source added at run time (`techwatch sources add`, `/techwatch add-source`): polled
        beside the config's."""
        with self.engine.begin() as db:
            if db.execute(sa.select(sources.c.id).where(sources.c.id == source.id)).first():
                raise StorageError(f"a source with id {source.id!r} exists already")
            db.execute(sources.insert().values(
                id=source.id, url=source.url, name=source.name, lang=source.lang, enabled=True,
                origin=SLACK_ORIGIN if source.from_slack else "added",
                last_status="never polled", consecutive_errors=0, next_poll_at=now))

    def added_sources(self, poll_minutes: float) -> tuple[Source, ...]:
        query = sa.select(sources).where(sources.c.origin.in_(ADDED_ORIGINS), sources.c.enabled) \
            .order_by(sources.c.id)
        with self.engine.connect() as db:
            return tuple(Source(id=r.id, url=r.url, name=r.name, lang=r.lang or "en",
                                poll_minutes=poll_minutes, from_slack=r.origin == SLACK_ORIGIN)
                         for r in db.execute(query))

    def set_disabled(self, source_id: str, disabled_at: datetime | None) -> bool:
        """`techwatch sources disable/enable`: False when there is no such source."""
        with self.engine.begin() as db:
            result = db.execute(sources.update().where(
                sources.c.id == source_id, sources.c.id.not_in((SEED_SOURCE, ADDED_SOURCE))).values(
                disabled_at=disabled_at))
        return result.rowcount > 0

    def failing_sources(self, min_errors: int) -> list[SourceHealth]:
        """Sources still polled whose current run of failures is `min_errors` long or more."""
        query = sa.select(sources).where(
            sources.c.enabled, sources.c.disabled_at.is_(None), sources.c.failing_since.is_not(None),
            sources.c.consecutive_errors >= min_errors).order_by(sources.c.id)
        with self.engine.connect() as db:
            return [SourceHealth(r.id, r.name, r.failing_since, r.consecutive_errors, r.last_error)
                    for r in db.execute(query)]

    def recovered_sources(self) -> list[SourceHealth]:
        """Sources whose last poll succeeded after a run of failures (`since` its start)."""
        query = sa.select(sources).where(sources.c.recovered_from.is_not(None),
                                         sources.c.consecutive_errors == 0).order_by(sources.c.id)
        with self.engine.connect() as db:
            return [SourceHealth(r.id, r.name, r.recovered_from) for r in db.execute(query)]

    def record_poll(self, source_id: str, outcome: PollOutcome, drafts: Iterable[ArticleDraft],
                    now: datetime, *, backlog: bool = False) -> PollWrite:
        """Store a poll's items and the source's new state together, or neither; the new items
        of a `backlog` are archived as such (not news)."""
        origin = BACKLOG if backlog else None
        new = updated = 0
        written: set[int] = set()
        with self.engine.begin() as db:
            for draft in drafts:
                article_id = self._find(db, draft.keys)
                if article_id in written:  # two items with one link (a diary's #p01, #p02):
                    continue  # the first is the article, not a mix of both
                if article_id is None:
                    article_id = self._insert(db, draft, now, origin)
                    new += 1
                else:
                    updated += self._refresh(db, article_id, draft, now)
                written.add(article_id)
            values: dict[str, Any] = {
                "last_status": outcome.status, "last_polled_at": now,
                "next_poll_at": outcome.next_poll_at,
                "consecutive_errors": outcome.consecutive_errors, "last_error": outcome.error,
            }
            if outcome.error is None:
                values |= {"last_success_at": now, "warning": outcome.warning,
                           "failing_since": None}
                values |= {k: v for k, v in (("interval_minutes", outcome.interval_minutes),
                                             ("skip_hours", outcome.skip_hours),
                                             ("skip_days", outcome.skip_days)) if v is not None}
                if outcome.status == "ok":
                    values |= {"etag": outcome.etag, "last_modified": outcome.last_modified,
                               "body_hash": outcome.body_hash, "feed_format": outcome.feed_format,
                               "backlog": outcome.backlog}
                # a run of failures ends: remembered, so the ops channel can hear of the recovery
                values["recovered_from"] = sa.case(
                    (sources.c.failing_since.is_not(None), sources.c.failing_since),
                    else_=sources.c.recovered_from)
            else:
                values["failing_since"] = sa.func.coalesce(sources.c.failing_since,
                                                     sa.literal(now, UTCDateTime()))
            if new:
                values["last_new_item_at"] = now
            db.execute(sources.update().where(sources.c.id == source_id).values(**values))
        return PollWrite(new, updated)

    def postpone_poll(self, source_id: str, until: datetime) -> None:
        """Poll a source no sooner than `until`, its state otherwise as it was (its host asked
        to wait; the source itself did not fail)."""
        with self.engine.begin() as db:
            db.execute(sources.update().where(
                sources.c.id == source_id,
                sa.or_(sources.c.next_poll_at.is_(None), sources.c.next_poll_at < until))
                .values(next_poll_at=until))

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of `keys` the archive knows an item by (asked in batches: a feed may carry
        tens of thousands)."""
        keys, known = list(dict.fromkeys(keys)), set()
        with self.engine.connect() as db:
            for start in range(0, len(keys), 500):
                known.update(db.execute(sa.select(item_keys.c.key).where(
                    item_keys.c.key.in_(keys[start:start + 500]))).scalars())
        return known

    def find(self, keys: tuple[str, ...]) -> int | None:
        """The article known by any of `keys`, if any."""
        with self.engine.connect() as db:
            return self._find(db, keys)

    @staticmethod
    def _find(db: sa.Connection, keys: tuple[str, ...]) -> int | None:
        query = sa.select(item_keys.c.article_id).where(item_keys.c.key.in_(keys)).limit(1)
        return db.execute(query).scalar_one_or_none()

    @staticmethod
    def _insert(db: sa.Connection, d: ArticleDraft, now: datetime, origin: str | None) -> int:
        result = db.execute(articles.insert().values(
            source_id=d.source_id, url=d.url, canonical_url=d.canonical_url, guid=d.guid,
            title=d.title, summary=d.summary, text="", publisher=d.publisher, lang=d.lang,
            author=d.author, origin=origin,
            feed_published=d.feed_published, first_seen=now, state="pending",
            fetch_fulltext=d.fetch_fulltext, attempts=0, updated_at=now))
        article_id = result.inserted_primary_key[0]
        db.execute(item_keys.insert(), [{"key": k, "article_id": article_id} for k in d.keys])
        _index(db, article_id, title=d.title, body=d.summary, new=True)
        return article_id

    @staticmethod
    def _refresh(db: sa.Connection, article_id: int, d: ArticleDraft, now: datetime) -> int:
        """An item seen again: record new keys; an edited title or summary updates the article."""
        known = set(db.execute(sa.select(item_keys.c.key)
                               .where(item_keys.c.article_id == article_id)).scalars())
        missing = [k for k in d.keys if k not in known]
        if missing:
            db.execute(sa.text("INSERT OR IGNORE INTO item_keys(key, article_id) VALUES (:k, :a)"),
                       [{"k": k, "a": article_id} for k in missing])
        row = db.execute(sa.select(articles.c.title, articles.c.summary, articles.c.source_id)
                         .where(articles.c.id == article_id)).one()
        if row.source_id != d.source_id or (row.title, row.summary) == (d.title, d.summary):
            return 0
        db.execute(articles.update().where(articles.c.id == article_id)
                   .values(title=d.title, summary=d.summary, updated_at=now))
        _index(db, article_id, title=d.title)
        return 1

    # --- articles ------------------------------------------------------------------------

    def add_drafts(self, drafts: Iterable[ArticleDraft], now: datetime, origin: str,
                   ) -> list[tuple[int, bool]]:
        """Archive articles that came from outside the feeds (pending their page): (id, new)
        each; one already known (by any of its keys) is left as it is."""
        added = []
        with self.engine.begin() as db:
            for draft in drafts:
                article_id = self._find(db, draft.keys)
                if article_id is not None:
                    added.append((article_id, False))
                    continue
                article_id = self._insert(db, draft, now, origin)
                added.append((article_id, True))
        return added

    def ensure_source(self, source_id: str, name: str) -> None:
        """A pseudo-source (never polled) for articles that came from outside the feeds."""
        with self.engine.begin() as db:
            db.execute(sources.insert().prefix_with("OR IGNORE").values(
                id=source_id, url=f"{source_id}/", name=name, lang="en", enabled=False,
                last_status="never polled", consecutive_errors=0))

    def article_row(self, article_id: int) -> Any:
        with self.engine.connect() as db:
            return db.execute(sa.select(articles).where(articles.c.id == article_id)).one()

    def relevant_pages(self) -> Iterator[tuple[str, bytes]]:
        """(URL, raw HTML) of every relevant article whose page is kept, streamed."""
        query = (sa.select(raw_pages.c.fetched_url, raw_pages.c.html_gz)
                 .join(articles, articles.c.id == raw_pages.c.article_id)
                 .where(articles.c.relevant.is_(True)))
        with self.engine.connect() as db:
            for url, html_gz in db.execution_options(yield_per=100).execute(query):
                try:
                    yield url, gzip.decompress(html_gz)
                except (OSError, EOFError):  # a damaged stored page: skipped
                    continue

    def article_urls(self, *, relevant: bool | None = None) -> list[tuple[str, str]]:
        """(source id, URL) of the archived articles (seed documents aside)."""
        query = sa.select(articles.c.source_id, articles.c.url).where(
            articles.c.source_id != SEED_SOURCE)
        if relevant is not None:
            query = query.where(articles.c.relevant.is_(relevant))
        with self.engine.connect() as db:
            return [(r.source_id, r.url) for r in db.execute(query)]

    def sitemap_done(self, url: str) -> bool:
        with self.engine.connect() as db:
            return db.execute(sa.select(backfill_sitemaps.c.url).where(
                backfill_sitemaps.c.url == url)).first() is not None

    def mark_sitemap_done(self, url: str, source_id: str, urls: int, now: datetime) -> None:
        with self.engine.begin() as db:
            db.execute(backfill_sitemaps.insert().prefix_with("OR REPLACE").values(
                url=url, source_id=source_id, urls=urls, done_at=now))

    def pending_articles(self, ids: Iterable[int] | None = None, *,
                         due_by: datetime | None = None) -> list[PendingArticle]:
        """Articles still to fetch (those `ids`; or those due by `due_by`: a page that failed
        waits out its back-off)."""
        query = sa.select(articles).where(articles.c.state == "pending").order_by(articles.c.id)
        if ids is not None:
            query = query.where(articles.c.id.in_(list(ids)))
        if due_by is not None:
            query = query.where(sa.or_(articles.c.retry_at.is_(None),
                                       articles.c.retry_at <= due_by))
        with self.engine.connect() as db:
            return [PendingArticle(id=r.id, source_id=r.source_id, url=r.url, title=r.title,
                                   summary=r.summary, lang=r.lang,
                                   feed_published=r.feed_published, first_seen=r.first_seen,
                                   fetch_fulltext=r.fetch_fulltext, attempts=r.attempts,
                                   origin=r.origin)
                    for r in db.execute(query)]

    def retry_later(self, article_id: int, note: str, *, retry_at: datetime,
                    count_attempt: bool = True) -> None:
        with self.engine.begin() as db:
            db.execute(articles.update().where(articles.c.id == article_id,
                                               articles.c.state == "pending").values(
                attempts=articles.c.attempts + int(count_attempt), extraction_note=note,
                retry_at=retry_at))

    def complete_article(self, article: PendingArticle, extracted: ExtractedText,
                         classification: Classification, *, published: datetime | None,
                         date_source: str, text: str, now: datetime, raw: RawPage | None = None,
                         extractor_version: str | None = None, title: str | None = None,
                         story: StoryInput | None = None, rules: StorySettings | None = None,
                         ) -> int | None:
        """Write extraction and classification of a pending article and mark it done; `title`
        replaces the stored one (an article known by its URL only takes the page's). With
        `story`, it is grouped in the same transaction: a delivery planned meanwhile never sees
        it done without its story (it would be alerted as a story of its own). When its page is
        an archived article's (a redirect's final URL, its own site's canonical), it is not
        kept: its keys find that article, whose id is returned; if that one is still pending,
        this page completes it next (`pending_articles`). An article no longer pending (an
        earlier link's page completed it) is left as it is, and its id returned."""
        with self.engine.begin() as db:
            return self._complete(db, article, extracted, classification, published=published,
                                  date_source=date_source, text=text, now=now, raw=raw,
                                  extractor_version=extractor_version, title=title, story=story,
                                  rules=rules)

    def complete_articles(self, results: Sequence[ArticleResult], now: datetime,
                          rules: StorySettings, fetches: Sequence[FetchLogged] = (),
                          ) -> list[int | None]:
        """`complete_article` for each, in order, with the fetch log's lines, in one
        transaction (one commit a batch; a kill leaves each article either done with its story
        or still pending)."""
        with self.engine.begin() as db:
            if fetches:
                db.execute(fetch_log.insert(), [f._asdict() for f in fetches])
            return [self._complete(db, r.article, r.extracted, r.classification,
                                   published=r.published, date_source=r.date_source, text=r.text,
                                   now=now, raw=r.raw, extractor_version=r.extractor_version,
                                   title=r.page_title, story=r.story, rules=rules)
                    for r in results]

    def _complete(self, db: sa.Connection, article: PendingArticle, extracted: ExtractedText,
                  classification: Classification, *, published: datetime | None,
                  date_source: str, text: str, now: datetime, raw: RawPage | None,
                  extractor_version: str | None, title: str | None, story: StoryInput | None,
                  rules: StorySettings | None) -> int | None:
        if db.execute(_STATE, {"id": article.id}).scalar_one_or_none() != "pending":
            return article.id
        same_page = self._same_page(db, article.id, story.exact_keys) if story else None
        if same_page is not None:
            db.execute(item_keys.update().where(item_keys.c.article_id == article.id)
                       .values(article_id=same_page))
            db.execute(sa.text("DELETE FROM articles_fts WHERE rowid = :id"),
                       {"id": article.id})
            db.execute(articles.delete().where(articles.c.id == article.id))
            return same_page
        if story and story.exact_keys:  # a later link to its page finds it when seen
            db.execute(item_keys.insert().prefix_with("OR IGNORE"),
                       [{"key": k, "article_id": article.id} for k in story.exact_keys])
        db.execute(articles.update().where(articles.c.id == article.id).values(
            **({"canonical_url": story.page_url} if story and story.page_url else {}),
            state="done", text=text, site_name=extracted.site_name,
            **({"author": extracted.author} if extracted.author else {}),
            lang=extracted.lang or article.lang, page_published=extracted.page_date,
            published=published, date_source=date_source,
            extraction_status=extracted.status, extraction_note=extracted.note,
            extractor_version=extractor_version, attempts=articles.c.attempts + 1,
            updated_at=now, **_classification_values(classification),
            **({"title": title} if title else {})))
        _index(db, article.id, title=title, body=text or article.summary)
        if raw is not None:
            db.execute(raw_pages.delete().where(raw_pages.c.article_id == article.id))
            db.execute(raw_pages.insert().values(
                article_id=article.id, fetched_url=raw.url, http_status=raw.status,
                content_type=raw.content_type, html_gz=raw.html_gz,
                extractor_version=extractor_version, fetched_at=now))
        if story is not None and rules is not None:
            self._assign_story(db, article.id, story, rules, now)
        return None

    def forget_article(self, article_id: int) -> None:
        """Remove a pending article that has nothing to keep (a backfilled URL whose page is
        gone): no feed summary, no text."""
        with self.engine.begin() as db:
            db.execute(item_keys.delete().where(item_keys.c.article_id == article_id))
            db.execute(sa.text("DELETE FROM articles_fts WHERE rowid = :id"), {"id": article_id})
            db.execute(articles.delete().where(articles.c.id == article_id,
                                               articles.c.state == "pending"))

    def add_seed(self, name: str, title: str, text: str, classification: Classification,
                 now: datetime) -> None:
        """Archive one seed document, already extracted and classified. Its terms are counted
        in the document frequencies (a new archive's first IDF), it is no story's candidate."""
        key = f"seed:{name}"
        draft = ArticleDraft(source_id=SEED_SOURCE, url=key, canonical_url=key, keys=(key,),
                             title=title, summary=text[:400], guid=None, feed_published=None,
                             lang="en", publisher=None, fetch_fulltext=False)
        with self.engine.begin() as db:
            if self._find(db, draft.keys) is not None:
                return
            article_id = self._insert(db, draft, now, None)
            db.execute(articles.update().where(articles.c.id == article_id).values(
                state="done", text=text, extraction_status="full", published=now,
                date_source="first_seen", **_classification_values(classification)))
            self._terms.count(db, events.story_terms(title, text, None).document_terms)
            _index(db, article_id, body=text)

    def assign_story(self, article_id: int, sig: tuple[int, ...], terms: StoryTerms, *,
                     rules: StorySettings, now: datetime) -> int:
        """Put an article in the story of an earlier one that is a copy (MinHash estimate >=
        near_duplicate) or a report of the same event (`events.similarity` >= same_event, or
        same_event_undated if either has no publication date), else in a story of its own;
        index it. Reads a few index rows and candidates of the window, never the archive."""
        with self.engine.begin() as db:
            from bot.analysis import StoryInput

            return self._assign_story(db, article_id, StoryInput(sig, terms), rules, now)

    def _assign_story(self, db: sa.Connection, article_id: int, item: StoryInput,
                      rules: StorySettings, now: datetime) -> int:
        window_start = now - timedelta(days=rules.window_days)
        sig, terms = item.signature, item.terms
        bands = minhash.band_keys(sig)
        self._terms.count(db, terms.document_terms)
        idf = self._terms.idf(db, terms.document_terms)
        keys = events.index_terms(terms, idf)
        story = self._copy_story(db, article_id, sig, bands, rules, window_start, terms.day) or \
            self._event_story(db, article_id, terms, keys, idf, rules, window_start)
        story = story or article_id
        db.execute(_SET_STORY, {"article": article_id, "story": story,
                                "signature": minhash.pack(sig) if sig else None,
                                "terms": terms.as_json()})
        for statement, values in ((_BAND_ROWS, bands), (_TERM_ROWS, keys)):
            if values:  # one statement each, not a row of parameters a value
                db.execute(statement, {"values": json.dumps(values), "id": article_id})
        return story

    @staticmethod
    def _same_page(db: sa.Connection, article_id: int, keys: tuple[str, ...]) -> int | None:
        """The article found under one of these keys (not this one), archived or pending: a
        page fetched through two links in one poll is stored once too."""
        if not keys:
            return None
        query = (sa.select(articles.c.id).join(item_keys, item_keys.c.article_id == articles.c.id)
                 .where(item_keys.c.key.in_(keys), articles.c.id != article_id)
                 .order_by(articles.c.state).limit(1))  # "done" before "pending"
        return db.execute(query).scalar_one_or_none()

    @staticmethod
    def _copy_story(db: sa.Connection, article_id: int, sig: tuple[int, ...], bands: list[str],
                    rules: StorySettings, window_start: datetime, day: date | None,
                    ) -> int | None:
        """The story of the window's likeliest copy; a copy published more than `window_days`
        apart (last month's release, republished) is another story, as for any report."""
        if not bands:
            return None
        rows = db.execute(_COPY_CANDIDATES, {"bands": json.dumps(bands), "since": window_start,
                                             "id": article_id})
        best, best_score = None, rules.near_duplicate
        for row in rows:
            if not events.days_apart_within(day, row.day and date.fromisoformat(row.day),
                                            rules.window_days):
                continue
            score = minhash.estimate_similarity(sig, minhash.unpack(row.minhash))
            if score >= best_score:
                best, best_score = row.story_id or row.id, score
        return best

    def _event_story(self, db: sa.Connection, article_id: int, terms: StoryTerms,
                     keys: list[str], idf: events.Idf, rules: StorySettings,
                     window_start: datetime) -> int | None:
        """The story of the window's article most like this one, looked up by its index terms;
        only the `events.EVENT_CANDIDATES` sharing most of them are compared."""
        if not keys:
            return None
        rows = db.execute(_EVENT_CANDIDATES, {"terms": json.dumps(keys), "since": window_start,
                                              "id": article_id}).all()
        compared = self._story_terms(db, [r.id for r in rows])
        others = [(r.story_id or r.id, compared[r.id]) for r in rows if r.id in compared]
        more = set().union(*(o.document_terms for _, o in others)) - idf.frequency.keys()
        idf = events.Idf(idf.documents, {**self._terms.frequencies(db, more), **idf.frequency})
        scored = [(events.similarity(terms, other, idf, rules.window_days), story, other)
                  for story, other in others]
        alike = sorted(((score, story) for score, story, other in scored
                        if score >= rules.same_event_bar(events.both_dated(terms, other))),
                       reverse=True)
        for story in dict.fromkeys(story for _, story in alike):
            members = _members(db, story, window_start)
            more = set().union(*(m.names for m in members)) - idf.frequency.keys()
            idf = events.Idf(idf.documents, {**self._terms.frequencies(db, more),
                                             **idf.frequency})
            if events.fits(terms, members, idf):
                return story
        return None

    def _story_terms(self, db: sa.Connection, ids: list[int]) -> dict[int, StoryTerms]:
        """Articles' story terms, each parsed once a process (an article of the window is
        compared with many that follow it; its terms never change)."""
        held = self._compared
        missing = [i for i in ids if i not in held]
        if missing:
            rows = db.execute(sa.select(articles.c.id, articles.c.story_terms)
                              .where(articles.c.id.in_(missing),
                                     articles.c.story_terms.is_not(None)))
            held.update((r.id, StoryTerms.from_json(r.story_terms)) for r in rows)
        found = {}
        for i in ids:
            if i in held:
                held.move_to_end(i)
                found[i] = held[i]
        while len(held) > COMPARED_HELD:
            held.popitem(last=False)
        return found

    def count_seed_documents(self) -> int:
        """An archive made before document frequencies were kept: count its seed documents, the
        first IDF (once; the articles before are not counted)."""
        with self.engine.begin() as db:
            if db.execute(sa.select(term_documents.c.term)
                          .where(term_documents.c.term == ALL_DOCUMENTS)).first():
                return 0
            seeds = db.execute(sa.select(articles.c.title, articles.c.text)
                               .where(articles.c.source_id == SEED_SOURCE)).all()
            for seed in seeds:
                self._terms.count(db, events.story_terms(seed.title, seed.text or "",
                                                         None).document_terms)
            return len(seeds)

    def seed_count(self) -> int:
        with self.engine.connect() as db:
            query = sa.select(sa.func.count()).where(articles.c.source_id == SEED_SOURCE)
            return db.execute(query).scalar_one()

    def ensure_seed_source(self) -> None:
        with self.engine.begin() as db:
            if db.execute(sa.select(sources.c.id).where(sources.c.id == SEED_SOURCE)).first():
                return
            db.execute(sources.insert().values(
                id=SEED_SOURCE, url="seeds/", name="Seed documents", lang="en", enabled=False,
                last_status="reference material", consecutive_errors=0))

    # --- fetch log, digests, search, status -----------------------------------------------

    def log_fetch(self, at: datetime, source_id: str, kind: str, url: str, outcome: str,
                  detail: str | None = None) -> None:
        with self.engine.begin() as db:
            db.execute(fetch_log.insert().values(
                **FetchLogged(at, source_id, kind, url, outcome, detail)._asdict()))

    def fetch_outcomes(self, since: datetime) -> Counter[tuple[str, str]]:
        query = (sa.select(fetch_log.c.kind, fetch_log.c.outcome, sa.func.count())
                 .where(fetch_log.c.at >= since).group_by(fetch_log.c.kind, fetch_log.c.outcome))
        with self.engine.connect() as db:
            return Counter({(k, o): n for k, o, n in db.execute(query)})

    def last_digest(self, channel: str) -> datetime | None:
        query = sa.select(sa.func.max(digests.c.sent_at)).where(digests.c.channel == channel)
        with self.engine.connect() as db:
            return db.execute(query).scalar_one()

    def first_digest(self, channel: str) -> datetime | None:
        query = sa.select(sa.func.min(digests.c.sent_at)).where(digests.c.channel == channel)
        with self.engine.connect() as db:
            return db.execute(query).scalar_one()

    def record_digest(self, channel: str, sent_at: datetime, article_ids: list[int]) -> None:
        """A digest shown outside Slack (the terminal): its articles are taken, once."""
        self.plan([], sent_at, digest=(channel, article_ids))

    def digest_articles(self, channel: str, *, first_seen_after: datetime, min_score: float,
                        published_after: datetime, limit: int, topics: tuple[str, ...] = (),
                        ) -> list[ArticleView]:
        """Relevant news not yet in this channel's digest, best first, from at most `limit`
        stories (a story's every outlet: one entry, "also: ..."); never seed documents. An
        article finished late (a retry) still gets its turn."""
        earlier = articles.alias("earlier")
        story = sa.func.coalesce(articles.c.story_id, articles.c.id)
        in_digest = sa.exists().where(  # this article, or another of its story, went out
            digest_items.c.channel == channel, digest_items.c.article_id == earlier.c.id,
            sa.func.coalesce(earlier.c.story_id, earlier.c.id) == story)
        due = (articles.c.state == "done", articles.c.relevant.is_(True),
               articles.c.score >= min_score, articles.c.source_id != SEED_SOURCE,
               articles.c.first_seen > first_seen_after, ~in_digest,
               sa.or_(articles.c.published.is_(None), articles.c.published >= published_after),
               *any_topic(topics), _is_news())
        best_stories = (sa.select(story).where(*due).group_by(story)
                        .order_by(sa.func.max(articles.c.score).desc(),
                                  sa.func.max(articles.c.first_seen).desc()).limit(limit))
        query = (self._view_query().where(*due, story.in_(best_stories))
                 .order_by(articles.c.score.desc(), articles.c.first_seen.desc()))
        with self.engine.connect() as db:
            return [_view(r) for r in db.execute(query)]

    # --- the delivery ledger -------------------------------------------------------------

    def plan(self, planned: list[Delivery], now: datetime,
             digest: tuple[str, list[int]] | None = None) -> int:
        """Record deliveries (and a digest's articles) before anything is posted; a key already
        in the ledger is skipped, so planning twice delivers once. Returns how many were new."""
        new = 0
        with self.engine.begin() as db:
            new += self._insert_deliveries(db, planned, now)
            if digest is not None and (new or not planned):  # a digest planned twice: once
                channel, article_ids = digest
                digest_id = db.execute(digests.insert().values(
                    channel=channel, sent_at=now, covered_until=now,
                    items=len(article_ids))).inserted_primary_key[0]
                if article_ids:
                    db.execute(digest_items.insert().prefix_with("OR IGNORE"), [
                        {"channel": channel, "article_id": a, "digest_id": digest_id}
                        for a in article_ids])
        return new

    @staticmethod
    def _insert_deliveries(db: sa.Connection, planned: list[Delivery], now: datetime) -> int:
        new = 0
        for d in planned:
            result = db.execute(sa.text(
                "INSERT OR IGNORE INTO deliveries(key, channel, kind, article_id, parent_key, "
                "payload, status, attempts, created_at) VALUES (:key, :channel, :kind, "
                ":article_id, :parent_key, :payload, :status, 0, :now)"),
                {"key": d.key, "channel": d.channel, "kind": d.kind,
                 "article_id": d.article_id, "parent_key": d.parent_key,
                 "payload": json.dumps({"text": d.message.text, "blocks": list(d.message.blocks),
                                        "articles": list(d.article_ids)}),
                 "status": d.status, "now": now.astimezone(UTC).replace(tzinfo=None)})
            new += result.rowcount
        return new

    def pending_deliveries(self) -> list[Delivery]:
        query = (sa.select(deliveries).where(deliveries.c.status == "pending")
                 .order_by(deliveries.c.id))
        with self.engine.connect() as db:
            return [_delivery(r) for r in db.execute(query)]

    def channel_holds(self) -> dict[str, ChannelHold]:
        with self.engine.connect() as db:
            return {r.channel: ChannelHold(r.channel, r.error, r.since, r.tries, r.retry_at)
                    for r in db.execute(sa.select(channel_holds))}

    def hold_channel(self, channel: str, error: str, now: datetime,
                     backoff: Callable[[int], timedelta]) -> ChannelHold:
        """Slack refused a channel (again): its next try after `backoff(tries)`."""
        with self.engine.begin() as db:
            row = db.execute(sa.select(channel_holds).where(channel_holds.c.channel == channel)
                             ).one_or_none()
            tries = row.tries + 1 if row else 1
            hold = ChannelHold(channel, error, row.since if row else now, tries,
                               now + backoff(tries))
            db.execute(sqlite_insert(channel_holds).values(**asdict(hold)).on_conflict_do_update(
                index_elements=[channel_holds.c.channel],
                set_={"error": error, "tries": tries, "retry_at": hold.retry_at}))
            return hold

    def release_channel(self, channel: str) -> ChannelHold | None:
        """Slack took a message for a held channel: the hold it had, now lifted."""
        with self.engine.begin() as db:
            row = db.execute(sa.select(channel_holds).where(channel_holds.c.channel == channel)
                             ).one_or_none()
            if row is None:
                return None
            db.execute(channel_holds.delete().where(channel_holds.c.channel == channel))
            return ChannelHold(row.channel, row.error, row.since, row.tries, row.retry_at)

    def delivery_record(self, key: str) -> tuple[str, str] | None:
        """(kind, status) of a delivery, None when there is none."""
        query = sa.select(deliveries.c.kind, deliveries.c.status).where(deliveries.c.key == key)
        with self.engine.connect() as db:
            row = db.execute(query).first()
        return (row.kind, row.status) if row else None

    def delivery_state(self, key: str) -> tuple[str | None, str | None]:
        """(status, ts if sent) of a delivery, (None, None) when there is none."""
        query = sa.select(deliveries.c.status, deliveries.c.ts).where(deliveries.c.key == key)
        with self.engine.connect() as db:
            row = db.execute(query).first()
        if row is None:
            return None, None
        return row.status, row.ts if row.status == "sent" else None

    def delivery_attempt(self, delivery_id: int) -> None:
        """Counted before the post: an attempt > 0 means the message may already be in Slack."""
        self._update_delivery(delivery_id, attempts=deliveries.c.attempts + 1)

    def delivery_not_posted(self, delivery_id: int, error: str) -> None:
        """Slack answered that it did not take the message (429): nothing to look for later."""
        self._update_delivery(delivery_id, last_error=error,
                              attempts=sa.func.max(deliveries.c.attempts - 1, 0))

    def delivery_sent(self, delivery_id: int, ts: str, now: datetime) -> None:
        self._update_delivery(delivery_id, status="sent", ts=ts, sent_at=now, last_error=None)

    def delivery_failed(self, delivery_id: int, error: str, *, permanent: bool) -> None:
        """Note a failure; a refused digest gives its articles back to the next digest (a
        refused thread part, the stories it carried)."""
        if not permanent:
            self._update_delivery(delivery_id, last_error=error)
            return
        with self.engine.begin() as db:
            row = db.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).one()
            db.execute(deliveries.update().where(deliveries.c.id == delivery_id)
                       .values(status="failed", last_error=error))
            if row.kind != "digest":
                return
            taken = digest_items.c.digest_id.in_(sa.select(digests.c.id).where(
                digests.c.channel == row.channel, digests.c.sent_at == row.created_at))
            if row.parent_key is None:
                db.execute(digest_items.delete().where(taken))
            elif stories := _delivery(row).article_ids:
                db.execute(digest_items.delete().where(
                    taken, digest_items.c.article_id.in_(stories)))

    def forget_digest(self, channel: str, planned_at: datetime) -> None:
        """A digest that was never posted (asked for now, and refused): it does not count as
        the channel's last digest, so a scheduled one is still owed."""
        with self.engine.begin() as db:
            taken = sa.select(digests.c.id).where(digests.c.channel == channel,
                                                  digests.c.sent_at == planned_at)
            db.execute(digest_items.delete().where(digest_items.c.digest_id.in_(taken)))
            db.execute(digests.delete().where(digests.c.channel == channel,
                                              digests.c.sent_at == planned_at))

    def _update_delivery(self, delivery_id: int, **values: Any) -> None:
        with self.engine.begin() as db:
            db.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(**values))

    def alert_candidates(self, channel: str, *, min_score: float, published_after: datetime,
                         topics: tuple[str, ...] = (), first_seen_from: datetime | None = None,
                         limit: int = 200) -> list[ArticleView]:
        """Relevant recent news this channel has had no alert (or roll-over) for."""
        done = sa.exists().where(deliveries.c.channel == channel,
                                 deliveries.c.kind.in_(ALERT_KINDS),
                                 deliveries.c.article_id == articles.c.id)
        date = sa.func.coalesce(articles.c.published, articles.c.first_seen)
        query = (self._view_query()
                 .where(articles.c.state == "done", articles.c.relevant.is_(True),
                        articles.c.score >= min_score, articles.c.source_id != SEED_SOURCE,
                        date >= published_after, ~done, *any_topic(topics), _is_news(),
                        *([articles.c.first_seen >= first_seen_from] if first_seen_from else []))
                 .order_by(articles.c.first_seen, articles.c.id).limit(limit))
        with self.engine.connect() as db:
            return [_view(r) for r in db.execute(query)]

    def alerted_outlets(self, channel: str, story_id: int) -> set[str]:
        """The outlets a channel's alert of this story and its thread have named."""
        alerted = sa.select(deliveries.c.article_id).where(deliveries.c.channel == channel,
                                                           deliveries.c.kind.in_(ALERT_KINDS))
        query = self._view_query().where(
            sa.func.coalesce(articles.c.story_id, articles.c.id) == story_id,
            articles.c.id.in_(alerted))
        with self.engine.connect() as db:
            return {_view(r).source_name for r in db.execute(query)}

    def alerts_since(self, channel: str, since: datetime) -> int:
        query = (sa.select(sa.func.count()).select_from(deliveries)
                 .where(deliveries.c.channel == channel, deliveries.c.kind == "alert",
                        deliveries.c.created_at >= since))
        with self.engine.connect() as db:
            return db.execute(query).scalar_one()

    def search(self, query: str, *, topic: str | None = None, since: datetime | None = None,
               lang: str | None = None, limit: int = 20, offset: int = 0) -> list[ArticleView]:
        """Ranked full-text search, one result a story (bot.store.search says how and at what
        cost)."""
        return search_archive(self.engine, self._view_query, query, topic=topic, since=since,
                             lang=lang, limit=limit, offset=offset)

    # --- subscriptions and feedback (the Slack app) ---------------------------------------

    def subscribe(self, channel: str, topics: Iterable[str], min_score: float, user: str,
                  now: datetime) -> None:
        """Alerts for `channel` on `topics` ("*": all); a topic subscribed again takes the new
        minimum score."""
        with self.engine.begin() as db:
            for topic in topics:
                db.execute(subscriptions.insert().prefix_with("OR REPLACE").values(
                    channel=channel, topic=topic, min_score=min_score, created_by=user,
                    created_at=now))

    def unsubscribe(self, channel: str, topic: str | None) -> int:
        """Drop a channel's subscription to `topic`, or all of them (None); how many went."""
        query = subscriptions.delete().where(subscriptions.c.channel == channel)
        if topic is not None:
            query = query.where(subscriptions.c.topic == topic)
        with self.engine.begin() as db:
            return db.execute(query).rowcount

    def subscriptions(self, channel: str | None = None,
                      ) -> list[tuple[str, str, float, datetime]]:
        """(channel, topic, min_score, made at) of the subscriptions made in Slack."""
        query = sa.select(subscriptions.c.channel, subscriptions.c.topic,
                          subscriptions.c.min_score, subscriptions.c.created_at,
                          ).order_by(subscriptions.c.channel, subscriptions.c.topic)
        if channel is not None:
            query = query.where(subscriptions.c.channel == channel)
        with self.engine.connect() as db:
            return [tuple(r) for r in db.execute(query)]

    def record_feedback(self, article_id: int, user: str, vote: str, topic: str, channel: str,
                        now: datetime) -> tuple[int, int] | None:
        """A reader's vote, stored with what the classifier predicted; a new relevance vote
        replaces the reader's earlier one. The article's (relevant, not relevant) votes after
        it, or None when there is no such article."""
        with self.engine.begin() as db:
            row = db.execute(sa.select(articles.c.relevant, articles.c.score, articles.c.topics)
                             .where(articles.c.id == article_id)).first()
            if row is None:
                return None
            if vote in ("relevant", "not_relevant"):
                db.execute(feedback.delete().where(
                    feedback.c.article_id == article_id, feedback.c.user == user,
                    feedback.c.vote.in_(("relevant", "not_relevant"))))
            db.execute(feedback.insert().prefix_with("OR IGNORE").values(
                article_id=article_id, user=user, vote=vote, topic=topic,
                predicted_relevant=row.relevant, predicted_score=row.score,
                predicted_topics=row.topics or [], channel=channel, created_at=now))
            counts = dict(db.execute(
                sa.select(feedback.c.vote, sa.func.count()).where(
                    feedback.c.article_id == article_id).group_by(feedback.c.vote)).all())
        return counts.get("relevant", 0), counts.get("not_relevant", 0)

    def feedback_count(self) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(feedback)).scalar_one()

    def feedback_labels(self) -> Iterator[Any]:
        """Each voted article with its text and its votes, for `techwatch feedback export`."""
        query = (sa.select(articles.c.id, articles.c.url, articles.c.title, articles.c.text,
                           articles.c.summary, articles.c.lang, articles.c.published,
                           articles.c.topics, articles.c.story_id, feedback.c.vote,
                           feedback.c.topic, feedback.c.user, feedback.c.created_at,
                           feedback.c.predicted_relevant, feedback.c.predicted_topics)
                 .join(feedback, feedback.c.article_id == articles.c.id)
                 .order_by(articles.c.id, feedback.c.created_at))
        with self.engine.connect() as db:
            yield from db.execution_options(yield_per=200).execute(query)

    def topic_story_counts(self, since: datetime) -> Counter[str]:
        """Relevant stories (not articles) per topic first seen since `since`."""
        values = sa.func.json_each(articles.c.topics).table_valued("value")
        story = sa.func.coalesce(articles.c.story_id, articles.c.id)
        query = (sa.select(values.c.value, sa.func.count(sa.distinct(story)))
                 .select_from(articles).join(values, sa.true())
                 .where(articles.c.relevant.is_(True), articles.c.first_seen >= since,
                        articles.c.source_id != SEED_SOURCE).group_by(values.c.value))
        with self.engine.connect() as db:
            return Counter(dict(db.execute(query).all()))

    # --- housekeeping and metrics ---------------------------------------------------------

    def prune(self, *, raw_before: datetime | None, fetch_log_before: datetime | None,
              event_terms_before: datetime | None = None) -> dict[str, int]:
        """Retention: raw pages and fetch-log rows older than the cut-offs (None: keep), and the
        event index's rows older than the story window (its articles keep their stories)."""
        removed = {"raw_pages": 0, "fetch_log": 0, "event_terms": 0}
        with self.engine.begin() as db:
            if event_terms_before is not None:  # out of the window: never compared again
                removed["event_terms"] = db.execute(event_terms.delete().where(
                    event_terms.c.first_seen < event_terms_before)).rowcount
                db.execute(articles.update().where(articles.c.first_seen < event_terms_before,
                                                   articles.c.story_terms.is_not(None))
                           .values(story_terms=sa.null()))
            if raw_before is not None:
                removed["raw_pages"] = db.execute(raw_pages.delete().where(
                    raw_pages.c.fetched_at < raw_before)).rowcount
            if fetch_log_before is not None:
                removed["fetch_log"] = db.execute(fetch_log.delete().where(
                    fetch_log.c.at < fetch_log_before)).rowcount
        return removed

    def optimize(self) -> None:
        """Merge the full-text index's segments and refresh the query planner's statistics."""
        with self.engine.begin() as db:
            fts.optimize(db)
            db.exec_driver_sql("PRAGMA optimize")

    def pending_delivery_count(self) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                deliveries.c.status == "pending")).scalar_one()

    def counts(self, since: datetime | None = None) -> dict[str, int]:
        """Articles (first seen since `since`, if given): all, relevant, pending; seeds."""
        with self.engine.connect() as db:
            def n(*where):
                return db.execute(sa.select(sa.func.count()).select_from(articles)
                                  .where(*where)).scalar_one()
            news = sa.and_(articles.c.source_id != SEED_SOURCE,
                           articles.c.first_seen >= since if since else sa.true())
            return {"articles": n(news), "relevant": n(news, articles.c.relevant.is_(True)),
                    "pending": n(news, articles.c.state == "pending"),
                    "seeds": n(articles.c.source_id == SEED_SOURCE)}

    def extraction_counts(self) -> Counter[str]:
        query = (sa.select(articles.c.extraction_status, sa.func.count())
                 .where(articles.c.state == "done", articles.c.source_id != SEED_SOURCE)
                 .group_by(articles.c.extraction_status))
        with self.engine.connect() as db:
            return Counter({s or "none": c for s, c in db.execute(query)})

    @staticmethod
    def _view_query() -> sa.Select:
        return (sa.select(*READ_COLUMNS, sources.c.name.label("source_name"),
                          sources.c.url.label("source_url"))
                .join(sources, sources.c.id == articles.c.source_id, isouter=True))


def _members(db: sa.Connection, story: int, window_start: datetime) -> list[StoryTerms]:
    """A story's reports in the window (the most recent STORY_MEMBERS), as compared."""
    rows = db.execute(sa.select(articles.c.story_terms)
                      .where(sa.or_(articles.c.story_id == story, articles.c.id == story),
                             articles.c.story_terms.is_not(None),
                             articles.c.first_seen >= window_start)
                      .order_by(articles.c.id.desc()).limit(STORY_MEMBERS))
    return [StoryTerms.from_json(r.story_terms) for r in rows]


def _index(db: sa.Connection, article_id: int, *, title: str | None = None,
           body: str | None = None, new: bool = False) -> None:
    """Write an article's title and/or body into the full-text index."""
    values = {"id": article_id, "title": fts.index_text(title or ""),
              "body": fts.index_text(body or "")}
    if new:
        db.execute(sa.text("INSERT INTO articles_fts(rowid, title, body) "
                           "VALUES (:id, :title, :body)"), values)
        return
    columns = [c for c, v in (("title", title), ("body", body)) if v is not None]
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    db.execute(sa.text(f"UPDATE articles_fts SET {assignments} WHERE rowid = :id"), values)


def _is_news() -> sa.ColumnElement[bool]:
    """Neither from a backfill nor a feed's backlog: those fill the archive, and are neither
    alerted nor in digests."""
    return sa.func.coalesce(articles.c.origin, "").not_in(("backfill", BACKLOG))


def any_topic(topics: tuple[str, ...]) -> list[sa.ColumnElement[bool]]:
    """A condition: the article has one of `topics` (none when `topics` is empty)."""
    if not topics:
        return []
    values = sa.func.json_each(articles.c.topics).table_valued("value")
    return [sa.exists(sa.select(1).select_from(values).where(values.c.value.in_(topics)))]


def _delivery(row: Any) -> Delivery:
    payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
    return Delivery(key=row.key, channel=row.channel, kind=row.kind,
                    message=SlackMessage(payload["text"], tuple(payload["blocks"])),
                    article_id=row.article_id, parent_key=row.parent_key, status=row.status,
                    id=row.id, ts=row.ts, attempts=row.attempts, created_at=row.created_at,
                    article_ids=tuple(payload.get("articles", ())))


def _classification_values(c: Classification) -> dict[str, Any]:
    return {"relevant": c.relevant, "score": c.score, "topics": list(c.topics),
            "evidence": {k: list(v) for k, v in c.evidence.items()},
            "signals": {"actors": {k: list(v) for k, v in c.actors.items()}, "cues": list(c.cues)}}


def outlet(row: Any) -> str:
    """Who published it: the feed's word for it (an aggregator's <source>), the page's own site
    name when the feed links to another site's page, else the source's name."""
    elsewhere = row.site_name and row.source_url and not same_site(row.url, row.source_url)
    return (row.publisher or (row.site_name if elsewhere else None) or row.source_name
            or row.site_name or row.source_id)


def _view(row: Any, snippet: str = "") -> ArticleView:
    evidence = {k: tuple(v) for k, v in (row.evidence or {}).items()}
    signals = row.signals or {}
    return ArticleView(
        id=row.id, source_id=row.source_id, source_name=outlet(row), title=row.title,
        url=row.canonical_url if row.canonical_url.startswith("http") else row.url,
        lang=row.lang, published=row.published, first_seen=row.first_seen,
        score=row.score or 0.0, relevant=bool(row.relevant), topics=tuple(row.topics or ()),
        evidence=evidence, extraction_status=row.extraction_status or row.state,
        actors={k: tuple(v) for k, v in signals.get("actors", {}).items()},
        cues=tuple(signals.get("cues", ())), snippet=snippet,
        text_head=(row.text or row.summary or "")[:800],
        text_length=len(row.text or row.summary or ""), story_id=row.story_id or row.id)


# a JSON array of values in one parameter: a statement an article, not a parameter row a value
_COUNT_TERMS = sa.text(
    "INSERT INTO term_documents (term, documents) SELECT value, 1 FROM json_each(:terms) "
    "WHERE true ON CONFLICT (term) DO UPDATE SET documents = documents + 1")
_INDEX_ROWS = ("INSERT OR IGNORE INTO {} ({}, article_id, first_seen) SELECT j.value, a.id, "
               "a.first_seen FROM json_each(:values) AS j, articles AS a WHERE a.id = :id")
_BAND_ROWS = sa.text(_INDEX_ROWS.format("story_bands", "band"))
_TERM_ROWS = sa.text(_INDEX_ROWS.format("event_terms", "term"))


class TermCounts:
    """The archive's document frequencies as this process last read or counted them. Grouping
    one article weighs the terms of the articles it is compared with, thousands of terms, most
    of them shared by every article of the day: each is read once, not once an article. IDF is
    a statistic; a count that misses another process's latest articles weighs the same."""

    def __init__(self) -> None:
        self._known: dict[str, int] = {}  # 0: not in the archive when read

    def frequencies(self, db: sa.Connection, terms: Iterable[str]) -> dict[str, int]:
        known = self._known
        terms = set(terms)
        found = {}
        missing = [t for t in terms if t not in known]
        if missing:
            if len(known) + len(missing) > TERMS_HELD:
                known.clear()
            found = _frequencies(db, missing)
            known.update(dict.fromkeys(missing, 0))
            known.update(found)
        return {t: n for t in terms if (n := known.get(t, 0))} | found

    def idf(self, db: sa.Connection, wanted: set[str]) -> events.Idf:
        frequency = self.frequencies(db, wanted | {ALL_DOCUMENTS})
        return events.Idf(frequency.pop(ALL_DOCUMENTS, 0), frequency)

    def count(self, db: sa.Connection, terms: set[str]) -> None:
        """Count an article in the archive's document frequencies."""
        counted = sorted(terms | {ALL_DOCUMENTS})
        db.execute(_COUNT_TERMS, {"terms": json.dumps(counted)})
        for term in counted:
            if term in self._known:
                self._known[term] += 1


def _frequencies(db: sa.Connection, terms: Iterable[str]) -> dict[str, int]:
    """Document frequencies of many terms in one statement."""
    return dict(db.execute(_FREQUENCIES, {"terms": json.dumps(list(terms))}).all())


# Grouping's statements, built once (each article runs a dozen: building them cost more than
# running them). Many values go in one parameter, a JSON array.
def _json_values(name: str) -> sa.Select:
    return sa.select(sa.func.json_each(sa.bindparam(name)).table_valued("value").c.value)


_STATE = sa.select(articles.c.state).where(articles.c.id == sa.bindparam("id"))
_SET_STORY = articles.update().where(articles.c.id == sa.bindparam("article")).values(
    story_id=sa.bindparam("story"), minhash=sa.bindparam("signature"),
    story_terms=sa.bindparam("terms", type_=articles.c.story_terms.type))
_FREQUENCIES = sa.select(term_documents.c.term, term_documents.c.documents).where(
    term_documents.c.term.in_(_json_values("terms")))
_COPY_CANDIDATES = sa.select(
    articles.c.id, articles.c.story_id, articles.c.minhash,
    sa.func.json_extract(articles.c.story_terms, "$.day").label("day"),
).where(articles.c.id.in_(
    sa.select(story_bands.c.article_id).distinct()
    .where(story_bands.c.band.in_(_json_values("bands")),
           story_bands.c.first_seen >= sa.bindparam("since"),
           story_bands.c.article_id != sa.bindparam("id"))
    .order_by(story_bands.c.article_id.desc()).limit(COPY_CANDIDATES)))
_EVENT_CANDIDATES = sa.select(articles.c.id, articles.c.story_id).where(articles.c.id.in_(
    sa.select(event_terms.c.article_id)
    .where(event_terms.c.term.in_(_json_values("terms")),
           event_terms.c.first_seen >= sa.bindparam("since"),
           event_terms.c.article_id != sa.bindparam("id"))
    .group_by(event_terms.c.article_id)
    .order_by(sa.func.count().desc(), event_terms.c.article_id.desc())
    .limit(events.EVENT_CANDIDATES)))
