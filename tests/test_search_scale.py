"""Search that reads what it returns: stories and outlets through indexes, common words bounded,
Japanese found; on real SQLite archives."""

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.models import ArticleDraft, Classification, ExtractedText, PollOutcome, Source
from bot.store import fts, open_archive, search
from bot.store.search import filters, members_sql, ranked, ranked_sql

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def archive_of(tmp_path, items, url=None):
    """An archive of (source, title, text, lang, relevant, story index) items, completed and
    grouped as the pipeline would leave them (an SQLite file in tmp_path, or the archive at
    `url`); their ids in order."""
    archive = open_archive(url or f"sqlite:///{tmp_path / 'a.db'}")
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
    conditions, params = filters(topic="ai", since=NOW, lang="en")
    with archive.engine.connect() as db:
        plans = [" ".join(r[3] for r in db.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
                 for sql, params in (
                     (members_sql(3), (1, 2, 3, 1, 2, 3)),
                     (ranked_sql(conditions, rank="title"), ('"chips"', 0, "x", *params)),
                     (ranked_sql(conditions, rank="bm25"), ('"chips"', 0, *params)),
                     (ranked_sql(conditions, rank="weighed"), ('"chips"', 0, "x", *params)))]
    for plan in plans:
        assert not re.search(r"SCAN (articles|a|t)( |$)", plan)  # FTS5's index is read
    assert "ix_articles_story_id" in plans[0]
    assert all("COVERING INDEX ix_articles_search" in plan for plan in plans[1:])


def test_a_common_word_is_ranked_in_its_newest_matches_title_first(tmp_path):
    archive, ids = archive_of(tmp_path, [
        ("wire", "Japan chips", "Japan and chips, the oldest.", "en", False, 0),
        ("wire", "Other news", "Japan in passing.", "en", False, 1),
        ("wire", "Japan again", "Japan, a title match.", "en", False, 2),
        ("wire", "Newest", "Japan in the body, newest.", "en", False, 3),
        ("wire", "Rare Zorvex", "Zorvex and Japan.", "en", False, 4),
    ])
    with archive.engine.connect() as db:
        every = ranked(db, '"Japan"', limit=10, scored=10)  # few matches: BM25 over all of them
        assert {i for i, _ in every} == set(ids)
        assert {i for i, _ in every[:2]} == {ids[0], ids[2]}  # the title matches weigh most
        bounded = ranked(db, '"Japan"', limit=10, scored=2, newest=3)
        assert [i for i, _ in bounded] == [ids[2], ids[4], ids[3]]
        assert [i for i, _ in ranked(db, '"Japan"', limit=1, offset=1, scored=2, newest=3)] \
            == [ids[4]]
        assert ranked(db, '"Zorvex"', limit=10, scored=2, newest=3) == [(ids[4], ids[4])]


def test_common_words_select_but_only_rare_ones_weigh(tmp_path):
    """FTS5's BM25 counts every article holding each word it weighs: in a query of a rare and a
    common word, the common one (in more than `scored` articles) selects but does not weigh."""
    archive, ids = archive_of(tmp_path, [
        ("wire", "Japan news", "Japan and a Zorvex in passing, Japan.", "en", False, 0),
        ("wire", "Zorvex Zorvex", "Zorvex in Japan.", "en", False, 1),
        ("wire", "Japan", "Japan only.", "en", False, 2),
        ("wire", "Japan chips", "Japan and chips.", "en", False, 3),
        ("wire", "Chips", "Chips and Japan.", "en", False, 4),
        ("wire", "More chips", "Chips, no country named.", "en", False, 5),
    ])
    with archive.engine.connect() as db:
        for words in ("Zorvex Japan", "Japan Zorvex", "Zorvex -chips"):
            found = ranked(db, fts.match_query(words), limit=10, scored=2,
                           groups=fts.match_groups(words))
            assert [i for i, _ in found] == [ids[1], ids[0]]  # Zorvex in the title weighs most
        both = ranked(db, '"japan" AND "chips"', limit=10, scored=2,  # each common, both few:
                      groups=['"japan"', '"chips"'])  # title matches first, then newest
        assert [i for i, _ in both] == [ids[3], ids[4]]


def test_the_best_report_stands_for_its_story_relevant_and_with_text_first(tmp_path):
    archive, ids = archive_of(tmp_path, [
        ("wire", "Quantum pact", "A quantum pact, quantum quantum.", "en", False, 0),
        ("daily", "Quantum pact", "", "en", True, 0),  # no text: a summary only
        ("blog", "Quantum pact", "The quantum pact.", "en", True, 0),
        ("wire", "Quantum", "Quantum quantum quantum news.", "en", False, 3),
        ("daily", "Quantum", "Quantum weather.", "en", False, 4),
    ])
    with archive.engine.begin() as db:
        db.exec_driver_sql("UPDATE articles SET relevant = NULL WHERE id = ?", (ids[3],))
    with archive.engine.connect() as db:
        for scored in (10, 1):  # ranked by BM25; a common word, by title match
            found = ranked(db, '"quantum"', limit=10, scored=scored)
            assert found == [(ids[2], ids[0]), (ids[4], ids[4]), (ids[3], ids[3])]
            assert ranked(db, '"quantum"', limit=1, offset=1, scored=scored) == [(ids[4], ids[4])]
        (textless,) = ranked(db, '"quantum"', limit=10, scored=1, newest=4)[:1]
        assert textless == (ids[2], ids[0])


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
    assert fts.match_query("量子") and search.SCORED <= search.CANDIDATES
