"""Articles: items archived from the feeds (or added), pending their page, then completed with
their text, judgement and story; the keys they are known by; their raw pages."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bot.config import StorySettings
from bot.models import ArticleDraft, Classification, ExtractedText, PendingArticle
from bot.store import dialect
from bot.store.cluster import claim_free
from bot.store.rows import SEED_SOURCE, FetchLogged, classification_values
from bot.store.schema import articles, backfill_sitemaps, fetch_log, item_keys, raw_pages
from bot.stories import events

SEED_DATED = "seed_text"  # a seed document's date: the latest day its text names, or none

if TYPE_CHECKING:
    from bot.analysis import ArticleResult, RawPage, StoryInput
    from bot.store.stories import TermCounts

_STATE = sa.select(articles.c.state).where(articles.c.id == sa.bindparam("id"))


class ArticleStore:
    engine: sa.Engine
    _terms: TermCounts

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
            return find_article(db, keys)

    def add_drafts(self, drafts: Iterable[ArticleDraft], now: datetime, origin: str,
                   ) -> list[tuple[int, bool]]:
        """Archive articles that came from outside the feeds (pending their page): (id, new)
        each; one already known (by any of its keys) is left as it is."""
        added = []
        with self.engine.begin() as db:
            dialect.transaction_lock(db, dialect.ARTICLE_WRITES)
            for draft in drafts:
                article_id = find_article(db, draft.keys)
                if article_id is not None:
                    added.append((article_id, False))
                    continue
                article_id = insert_article(db, draft, now, origin)
                added.append((article_id, True))
        return added

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
            values = {"source_id": source_id, "urls": urls, "done_at": now}
            db.execute(dialect.insert(db, backfill_sitemaps).values(url=url, **values)
                       .on_conflict_do_update(index_elements=[backfill_sitemaps.c.url],
                                              set_=values))

    def pending_articles(self, ids: Iterable[int] | None = None, *,
                         due_by: datetime | None = None, free_for: str | None = None,
                         ) -> list[PendingArticle]:
        """Articles still to fetch (those `ids`; or those due by `due_by`: a page that failed
        waits out its back-off), none that a worker other than `free_for` has claimed."""
        query = sa.select(articles).where(articles.c.state == "pending").order_by(articles.c.id)
        if ids is not None:
            query = query.where(articles.c.id.in_(list(ids)))
        if due_by is not None:
            query = query.where(sa.or_(articles.c.retry_at.is_(None),
                                       articles.c.retry_at <= due_by))
        if free_for is not None and due_by is not None:
            query = query.where(claim_free(articles, free_for, due_by))
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
            outcome = self._complete(db, article, extracted, classification,
                                     published=published, date_source=date_source, text=text,
                                     now=now, raw=raw, extractor_version=extractor_version,
                                     title=title, story=story)
            if outcome is None and story is not None:
                self._group(db, [(article.id, story)], rules, now)
            return outcome

    def complete_articles(self, results: Sequence[ArticleResult], now: datetime,
                          rules: StorySettings, fetches: Sequence[FetchLogged] = (),
                          ) -> list[int | None]:
        """`complete_article` for each, in order, with the fetch log's lines, in one
        transaction (one commit a batch; a kill leaves each article either done with its story
        or still pending)."""
        with self.engine.begin() as db:
            if fetches:
                db.execute(fetch_log.insert(), [f._asdict() for f in fetches])
            outcomes = [self._complete(db, r.article, r.extracted, r.classification,
                                       published=r.published, date_source=r.date_source,
                                       text=r.text, now=now, raw=r.raw,
                                       extractor_version=r.extractor_version, title=r.page_title,
                                       story=r.story) for r in results]
            done = zip(results, outcomes, strict=True)
            self._group(db, [(r.article.id, r.story) for r, outcome in done
                             if outcome is None and r.story is not None], rules, now)
            return outcomes

    def _group(self, db: sa.Connection, done: list[tuple[int, StoryInput]],
               rules: StorySettings | None, now: datetime) -> None:
        """Group the articles just completed, last in their transaction: the lock that makes
        grouping one worker's at a time (dialect.ARTICLE_WRITES) is held from here to the
        commit only."""
        if rules is not None:
            for article_id, story in done:
                self._assign_story(db, article_id, story, rules, now)

    def _complete(self, db: sa.Connection, article: PendingArticle, extracted: ExtractedText,
                  classification: Classification, *, published: datetime | None,
                  date_source: str, text: str, now: datetime, raw: RawPage | None,
                  extractor_version: str | None, title: str | None, story: StoryInput | None,
                  ) -> int | None:
        if db.execute(_STATE, {"id": article.id}).scalar_one_or_none() != "pending":
            return article.id
        same_page = self._same_page(db, article.id, story.exact_keys) if story else None
        if same_page is not None:
            db.execute(item_keys.update().where(item_keys.c.article_id == article.id)
                       .values(article_id=same_page))
            dialect.unindex_article(db, article.id)
            db.execute(articles.delete().where(articles.c.id == article.id))
            return same_page
        if story and story.exact_keys:  # a later link to its page finds it when seen
            db.execute(dialect.insert(db, item_keys).on_conflict_do_nothing(),
                       [{"key": k, "article_id": article.id} for k in story.exact_keys])
        db.execute(articles.update().where(articles.c.id == article.id).values(
            **({"canonical_url": story.page_url} if story and story.page_url else {}),
            state="done", text=text, site_name=extracted.site_name,
            **({"author": extracted.author} if extracted.author else {}),
            lang=extracted.lang or article.lang, page_published=extracted.page_date,
            published=published, date_source=date_source,
            extraction_status=extracted.status, extraction_note=extracted.note,
            extractor_version=extractor_version, attempts=articles.c.attempts + 1,
            updated_at=now, **classification_values(classification),
            **({"title": title} if title else {})))
        dialect.index_article(db, article.id, title=title, body=text or article.summary)
        if raw is not None:
            db.execute(raw_pages.delete().where(raw_pages.c.article_id == article.id))
            db.execute(raw_pages.insert().values(
                article_id=article.id, fetched_url=raw.url, http_status=raw.status,
                content_type=raw.content_type, html_gz=raw.html_gz,
                extractor_version=extractor_version, fetched_at=now))
        return None

    def forget_article(self, article_id: int) -> None:
        """Remove a pending article that has nothing to keep (a backfilled URL whose page is
        gone): no feed summary, no text."""
        with self.engine.begin() as db:
            db.execute(item_keys.delete().where(item_keys.c.article_id == article_id))
            dialect.unindex_article(db, article_id)
            db.execute(articles.delete().where(articles.c.id == article_id,
                                               articles.c.state == "pending"))

    def add_seed(self, name: str, title: str, text: str, classification: Classification,
                 now: datetime, published: datetime | None = None) -> None:
        """Archive one seed document, already extracted and classified. Its terms are counted
        in the document frequencies (a new archive's first IDF), it is no story's candidate."""
        key = f"seed:{name}"
        draft = ArticleDraft(source_id=SEED_SOURCE, url=key, canonical_url=key, keys=(key,),
                             title=title, summary=text[:400], guid=None, feed_published=None,
                             lang="en", publisher=None, fetch_fulltext=False)
        with self.engine.begin() as db:
            dialect.transaction_lock(db, dialect.ARTICLE_WRITES)
            if find_article(db, draft.keys) is not None:
                return
            article_id = insert_article(db, draft, now, None)
            db.execute(articles.update().where(articles.c.id == article_id).values(
                state="done", text=text, extraction_status="full", published=published,
                date_source=SEED_DATED, **classification_values(classification)))
            self._terms.count(db, events.story_terms(title, text, None).document_terms)
            dialect.index_article(db, article_id, body=text)

    def date_seeds(self, dates: dict[str, datetime | None]) -> int:
        """Seed documents archived dated the day they were archived (before their own dates
        were read from their text): their own date, or none."""
        with self.engine.begin() as db:
            done = 0
            for name, published in dates.items():
                done += db.execute(articles.update().where(
                    articles.c.source_id == SEED_SOURCE, articles.c.url == f"seed:{name}",
                    articles.c.date_source == "first_seen").values(
                        published=published, date_source=SEED_DATED)).rowcount
            return done

    def seed_count(self) -> int:
        with self.engine.connect() as db:
            query = sa.select(sa.func.count()).where(articles.c.source_id == SEED_SOURCE)
            return db.execute(query).scalar_one()

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


def find_article(db: sa.Connection, keys: tuple[str, ...]) -> int | None:
    query = sa.select(item_keys.c.article_id).where(item_keys.c.key.in_(keys)).limit(1)
    return db.execute(query).scalar_one_or_none()


def insert_article(db: sa.Connection, d: ArticleDraft, now: datetime, origin: str | None) -> int:
    result = db.execute(articles.insert().values(
        source_id=d.source_id, url=d.url, canonical_url=d.canonical_url, guid=d.guid,
        title=d.title, summary=d.summary, text="", publisher=d.publisher, lang=d.lang,
        author=d.author, origin=origin,
        feed_published=d.feed_published, first_seen=now, state="pending",
        fetch_fulltext=d.fetch_fulltext, attempts=0, updated_at=now))
    article_id = result.inserted_primary_key[0]
    db.execute(item_keys.insert(), [{"key": k, "article_id": article_id} for k in d.keys])
    dialect.index_article(db, article_id, title=d.title, body=d.summary, new=True)
    return article_id


def refresh_article(db: sa.Connection, article_id: int, d: ArticleDraft, now: datetime) -> int:
    """An item seen again: record new keys; an edited title or summary updates the article."""
    known = set(db.execute(sa.select(item_keys.c.key)
                           .where(item_keys.c.article_id == article_id)).scalars())
    missing = [k for k in d.keys if k not in known]
    if missing:
        db.execute(dialect.insert(db, item_keys).on_conflict_do_nothing(),
                   [{"key": k, "article_id": article_id} for k in missing])
    row = db.execute(sa.select(articles.c.title, articles.c.summary, articles.c.source_id)
                     .where(articles.c.id == article_id)).one()
    if row.source_id != d.source_id or (row.title, row.summary) == (d.title, d.summary):
        return 0
    db.execute(articles.update().where(articles.c.id == article_id)
               .values(title=d.title, summary=d.summary, updated_at=now))
    dialect.index_article(db, article_id, title=d.title)
    return 1
