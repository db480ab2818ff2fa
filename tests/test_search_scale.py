"""Search that reads what it returns: stories and outlets through indexes, common words bounded,
Japanese found; on real SQLite archives."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.models import ArticleDraft, Classification, ExtractedText, PollOutcome, Source
from bot.store import fts, open_archive, search
from bot.store.search import Hit, candidates, candidates_sql, filters, members_query, pick

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def archive_of(tmp_path, items):
    """An archive of (source, title, text, lang, relevant, story index) items, completed and
    grouped as the pipeline would leave them; their ids in order."""
    archive = open_archive(f"sqlite:///{tmp_path / 'a.db'}")
    names = sorted({item[0] for item in items})
    archive.sync_sources([Source(n, f"https://{n}.example/feed", n.upper()) for n in names])
    ids = []
    for i, (source, title, text, lang, relevant, _) in enumerate(items):
        url = f"https://{source}.example/{i}"
        draft = ArticleDraft(source_id=source, url=url, canonical_url=url, keys=(f"url:{url}",),
                             title=title, summary=text[:40], guid=None, feed_published=NOW,
                             lang=lang, publisher=None, fetch_fulltext=True)
        archive.record_poll(source, PollOutcome("ok", NOW), [draft], NOW + timedelta(minutes=i))
        (pending,) = archive.pending_articles()
        archive.complete_article(pending, ExtractedText("full", text=text),
                                 Classification(relevant, 0.9 if relevant else 0.1,
                                                ("quantum",) if relevant else (), {}),
                                 published=NOW, date_source="feed", text=text, now=NOW)
        ids.append(pending.id)
    with archive.engine.begin() as db:
        for article_id, item in zip(ids, items, strict=True):
            db.execute(sa.text("UPDATE articles SET story_id = :s WHERE id = :a"),
                       {"s": ids[item[5]], "a": article_id})
    return archive, ids


def test_a_story_is_found_once_with_its_members_and_other_outlets(tmp_path):
    archive, ids = archive_of(tmp_path, [
        ("wire", "Quantum pact signed", "IBM and RIKEN sign a quantum pact.", "en", True, 0),
        ("daily", "Quantum pact", "A quantum pact, reported again.", "en", False, 0),
        ("blog", "Quantum pact opinion", "What the quantum pact means.", "en", False, 0),
        ("daily", "Weather", "Rain tomorrow.", "en", False, 3),
    ])
    (found,) = archive.search("quantum pact")
    assert found.id == ids[0] and found.members == 3
    assert set(found.also) == {"DAILY", "BLOG"}
    assert archive.search("rain")[0].members == 1 and archive.search("rain")[0].also == ()


def test_stories_and_candidates_are_read_through_indexes_not_the_articles_table(tmp_path):
    archive, _ = archive_of(tmp_path, [("wire", "Chips", "Chips.", "en", True, 0)])
    with archive.engine.connect() as db:
        member_sql = str(members_query({1, 2, 3}).compile(
            archive.engine, compile_kwargs={"literal_binds": True}))
        plans = [" ".join(r[3] for r in db.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
                 for sql, params in (
                     (member_sql, ()),
                     (candidates_sql(filters(topic="ai", since=NOW, lang="en")[0], common=True),
                      ('"chips"', 0, "x", "ai", "en")))]
    for plan in plans:
        assert "SCAN articles" not in plan and "SCAN a " not in plan and not plan.endswith("SCAN a")
    assert "ix_articles_story_id" in plans[0]
    assert "COVERING INDEX ix_articles_search" in plans[1]


def test_a_common_word_is_ranked_in_its_newest_matches_title_first(tmp_path):
    archive, ids = archive_of(tmp_path, [
        ("wire", "Japan chips", "Japan and chips, the oldest.", "en", False, 0),
        ("wire", "Other news", "Japan in passing.", "en", False, 1),
        ("wire", "Japan again", "Japan, a title match.", "en", False, 2),
        ("wire", "Newest", "Japan in the body, newest.", "en", False, 3),
        ("wire", "Rare Zorvex", "Zorvex and Japan.", "en", False, 4),
    ])
    with archive.engine.connect() as db:
        every = candidates(db, '"Japan"', scored=10)  # few matches: BM25 over all of them
        assert {h.id for h in every} == set(ids) and all(h.rank != 0.0 for h in every)
        bounded = candidates(db, '"Japan"', scored=2, newest=3)
        assert [h.id for h in pick(bounded, limit=10)] == [ids[2], ids[4], ids[3]]
        assert len(candidates(db, '"Zorvex"', scored=2, newest=3)) == 1


def test_the_best_report_stands_for_its_story_relevant_and_with_text_first():
    hits = [Hit(1, 1, False, True, -9.0), Hit(2, 1, True, False, -5.0), Hit(3, 1, True, True, -1.0),
            Hit(4, 4, None, True, -20.0), Hit(5, 5, False, True, -2.0)]
    assert [h.id for h in pick(hits, limit=10)] == [3, 5, 4]
    assert [h.id for h in pick(hits, limit=1, offset=1)] == [5]


def test_japanese_two_character_words_and_filters(tmp_path):
    archive, ids = archive_of(tmp_path, [
        ("nikkei", "日米の量子協力", "日米両政府は量子技術で協力する。", "ja", True, 0),
        ("asahi", "量子で協力", "量子技術の協力を報じた。", "ja", False, 0),
        ("nikkei", "半導体の輸出管理", "半導体材料の輸出管理を厳格化。", "ja", False, 2),
        ("wire", "Quantum", "No Japanese here.", "en", True, 3),
    ])
    (found,) = archive.search("量子")
    assert found.id == ids[0] and found.members == 2 and found.also == ("ASAHI",)
    assert "量子技術" in found.snippet
    assert [r.id for r in archive.search("半導体")] == [ids[2]]
    assert archive.search("量子", lang="en") == []
    assert {r.id for r in archive.search("量子 OR quantum", topic="quantum")} == {ids[0], ids[3]}
    assert archive.search("量子", since=NOW + timedelta(days=1)) == []
    assert fts.match_query("量子") and search.SCORED < search.CANDIDATES
