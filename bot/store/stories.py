"""Stories: what grouping reads (bot.stories.assign decides), the decision written back with
the article's index rows, and the archive's document frequencies. With several workers, one
worker at a time writes articles (dialect.ARTICLE_WRITES, held to the transaction's end), so two
reports of one event completed at once by two workers end in one story."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bot.config import StorySettings
from bot.store import dialect
from bot.store.dialect import json_values
from bot.store.rows import SEED_SOURCE
from bot.store.schema import articles, event_terms, story_bands, term_documents
from bot.stories import events, minhash
from bot.stories.assign import CopyCandidate, decide
from bot.stories.events import StoryTerms

if TYPE_CHECKING:
    from bot.analysis import StoryInput

ALL_DOCUMENTS = ""  # the term_documents row that counts the articles
# the most recent copies a new article is compared with: a story syndicated a thousand times
# costs no more than one syndicated two hundred times
COPY_CANDIDATES = 200
STORY_MEMBERS = 50  # a story's most recent reports that a new one must mostly share names with
TERMS_HELD = 100_000  # document frequencies held in memory (about 13 MB)
COMPARED_HELD = 1_000  # recently compared articles' parsed story terms (about 15 KB each)


class StoryStore:
    engine: sa.Engine
    _terms: TermCounts
    _compared: OrderedDict[int, StoryTerms]  # least recent first

    def assign_story(self, article_id: int, sig: tuple[int, ...], terms: StoryTerms, *,
                     rules: StorySettings, now: datetime) -> int:
        """Group an article (bot.stories.assign) and index it; its story's id."""
        with self.engine.begin() as db:
            from bot.analysis import StoryInput

            return self._assign_story(db, article_id, StoryInput(sig, terms), rules, now)

    def _assign_story(self, db: sa.Connection, article_id: int, item: StoryInput,
                      rules: StorySettings, now: datetime) -> int:
        dialect.transaction_lock(db, dialect.ARTICLE_WRITES)  # held already by a completion
        self._terms.count(db, item.terms.document_terms)
        decision = decide(article_id, item.signature, item.terms, _Reads(self, db), rules, now)
        story = decision.story or article_id
        statements = _statements(db.dialect.name)
        db.execute(statements.set_story, {
            "article": article_id, "story": story,
            "signature": minhash.pack(item.signature) if item.signature else None,
            "terms": item.terms.as_json()})
        for statement, values in ((statements.band_rows, decision.bands),
                                  (statements.term_rows, decision.keys)):
            if values:  # one statement each, not a row of parameters a value
                db.execute(statement, {"values": json.dumps(values), "id": article_id})
        return story

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


class _Reads:
    """bot.stories.assign.StoryReads over one connection (its transaction)."""

    def __init__(self, store: StoryStore, db: sa.Connection) -> None:
        self.store, self.db = store, db
        self.sql = _statements(db.dialect.name)

    def idf(self, terms: set[str]) -> events.Idf:
        return self.store._terms.idf(self.db, terms)

    def frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        return self.store._terms.frequencies(self.db, terms)

    def copy_candidates(self, bands: list[str], since: datetime, article_id: int,
                        ) -> list[CopyCandidate]:
        rows = self.db.execute(self.sql.copy_candidates, {
            "bands": json.dumps(bands), "since": since, "id": article_id})
        return [CopyCandidate(r.id, r.story_id or r.id, minhash.unpack(r.minhash),
                              r.day and date.fromisoformat(r.day)) for r in rows]

    def event_candidates(self, keys: list[str], since: datetime, article_id: int,
                         ) -> list[tuple[int, int]]:
        rows = self.db.execute(self.sql.event_candidates, {
            "terms": json.dumps(keys), "since": since, "id": article_id})
        return [(r.id, r.story_id or r.id) for r in rows]

    def story_terms(self, ids: list[int]) -> dict[int, StoryTerms]:
        return self.store._story_terms(self.db, ids)

    def members(self, story: int, since: datetime) -> list[StoryTerms]:
        """A story's reports in the window (the most recent STORY_MEMBERS), as compared."""
        rows = self.db.execute(
            sa.select(articles.c.story_terms)
            .where(sa.or_(articles.c.story_id == story, articles.c.id == story),
                   articles.c.story_terms.is_not(None), articles.c.first_seen >= since)
            .order_by(articles.c.id.desc()).limit(STORY_MEMBERS))
        return [StoryTerms.from_json(r.story_terms) for r in rows]


class TermCounts:
    """The archive's document frequencies as this process last read or counted them. Grouping
    one article weighs the terms of the articles it is compared with, thousands of terms, most
    of them shared by every article of the day: each is read once, not once an article. IDF is
    a statistic; a count that misses another worker's latest articles weighs the same (the
    counts in the archive are exact: each is an atomic upsert)."""

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
            found = dict(db.execute(_statements(db.dialect.name).frequencies,
                                    {"terms": json.dumps(missing)}).all())
            known.update(dict.fromkeys(missing, 0))
            known.update(found)
        return {t: n for t in terms if (n := known.get(t, 0))} | found

    def idf(self, db: sa.Connection, wanted: set[str]) -> events.Idf:
        frequency = self.frequencies(db, wanted | {ALL_DOCUMENTS})
        return events.Idf(frequency.pop(ALL_DOCUMENTS, 0), frequency)

    def count(self, db: sa.Connection, terms: set[str]) -> None:
        """Count an article in the archive's document frequencies (sorted: concurrent upserts
        of the same terms take their row locks in one order)."""
        counted = sorted(terms | {ALL_DOCUMENTS})
        db.execute(_statements(db.dialect.name).count_terms, {"terms": json.dumps(counted)})
        for term in counted:
            if term in self._known:
                self._known[term] += 1


class _Statements:
    """Grouping's statements, built once a dialect (each article runs a dozen: building them
    cost more than running them). Many values go in one parameter, a JSON array."""

    def __init__(self, name: str) -> None:
        values = json_values("terms").subquery()
        self.count_terms = dialect.insert(name, term_documents).from_select(
            ["term", "documents"], sa.select(values.c.value, sa.literal(1)).where(sa.true())
        ).on_conflict_do_update(index_elements=[term_documents.c.term],
                                set_={"documents": term_documents.c.documents + 1})
        self.band_rows = self._index_rows(name, story_bands, "band")
        self.term_rows = self._index_rows(name, event_terms, "term")
        self.set_story = articles.update().where(articles.c.id == sa.bindparam("article")).values(
            story_id=sa.bindparam("story"), minhash=sa.bindparam("signature"),
            story_terms=sa.bindparam("terms", type_=articles.c.story_terms.type))
        self.frequencies = sa.select(term_documents.c.term, term_documents.c.documents).where(
            term_documents.c.term.in_(json_values("terms")))
        self.copy_candidates = sa.select(
            articles.c.id, articles.c.story_id, articles.c.minhash,
            articles.c.story_terms["day"].as_string().label("day"),
        ).where(articles.c.id.in_(
            sa.select(story_bands.c.article_id).distinct()
            .where(story_bands.c.band.in_(json_values("bands")),
                   story_bands.c.first_seen >= sa.bindparam("since"),
                   story_bands.c.article_id != sa.bindparam("id"))
            .order_by(story_bands.c.article_id.desc()).limit(COPY_CANDIDATES)))
        self.event_candidates = sa.select(articles.c.id, articles.c.story_id).where(
            articles.c.id.in_(
                sa.select(event_terms.c.article_id)
                .where(event_terms.c.term.in_(json_values("terms")),
                       event_terms.c.first_seen >= sa.bindparam("since"),
                       event_terms.c.article_id != sa.bindparam("id"))
                .group_by(event_terms.c.article_id)
                .order_by(sa.func.count().desc(), event_terms.c.article_id.desc())
                .limit(events.EVENT_CANDIDATES)))

    @staticmethod
    def _index_rows(name: str, table: sa.Table, column: str) -> Any:
        """Index rows (value, article, its first_seen) for each value of a JSON array."""
        values = json_values("values").subquery()
        return dialect.insert(name, table).from_select(
            [column, "article_id", "first_seen"],
            sa.select(values.c.value, articles.c.id, articles.c.first_seen).select_from(values)
            .join(articles, articles.c.id == sa.bindparam("id"))).on_conflict_do_nothing()


@cache
def _statements(name: str) -> _Statements:
    return _Statements(name)
