"""Search on both backends: the same archives give the same results in the same order, on an
SQLite file and on PostgreSQL (bot.store.search_pg); hostile words give results or none, never
an error."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from test_search_scale import NOW, archive_of

from bot.store import fts, search, search_pg
from bot.store.dialect import is_postgresql


def rank(archive, words: str, *, limit: int = 10, offset: int = 0, scored: int = search.SCORED,
         newest: int = search.CANDIDATES) -> list[int]:
    """The ids `ranked` gives for a user's words, on the archive's backend."""
    with archive.engine.connect() as db:
        if is_postgresql(db):
            hits = search_pg.ranked(db, words, limit=limit, offset=offset, scored=scored,
                                    newest=newest)
        else:
            hits = search.ranked(db, fts.match_query(words), limit=limit, offset=offset,
                                 scored=scored, newest=newest, groups=fts.match_groups(words))
    return [i for i, _ in hits]


def found(archive, words: str, **options) -> list[int]:
    return [r.id for r in archive.search(words, **options)]


@pytest.fixture
def news(tmp_path, database_url):
    archive, ids = archive_of(tmp_path, [
        ("wire", "Quantum pact signed", "IBM and RIKEN sign a quantum pact in Tokyo.", "en", True, 0),
        ("daily", "Quantum pact", "A quantum pact, reported again.", "en", False, 0),
        ("blog", "Chips and Japan", "Micron builds chips in Hiroshima; Japan pays.", "en", False, 2),
        ("daily", "Weather", "Rain tomorrow, chips fall in price.", "en", False, 3),
        ("wire", "US-Japan chip controls", "Export controls on chips from China.", "en", True, 4),
        ("nikkei", "日米の量子協力", "日米両政府は量子技術で協力する。", "ja", True, 5),
        ("asahi", "半導体の輸出管理", "米国と日本は半導体材料の輸出管理を厳格化。", "ja", False, 6),
        ("asahi", "米価が上昇", "米の価格が上がった。", "ja", False, 7),
    ], url=database_url)
    yield archive, ids
    archive.close()


def test_a_story_is_found_once_with_its_members_and_other_outlets(tmp_path, database_url):
    archive, ids = archive_of(tmp_path, [
        ("wire", "Quantum pact signed", "IBM and RIKEN sign a quantum pact.", "en", True, 0),
        ("daily", "Quantum pact", "A quantum pact, reported again.", "en", False, 0),
        ("blog", "Quantum pact opinion", "What the quantum pact means.", "en", False, 0),
        ("daily", "Weather", "Rain tomorrow.", "en", False, 3),
    ], url=database_url)
    (story,) = archive.search("quantum pact")
    assert story.id == ids[0] and story.members == 3
    assert set(story.also) == {"DAILY", "BLOG"}
    assert archive.search("rain")[0].members == 1 and archive.search("rain")[0].also == ()
    archive.close()


def test_english_and_japanese_results_in_the_same_order(news):
    archive, ids = news
    assert found(archive, "chips") == [ids[4], ids[2], ids[3]]  # relevant; then title, BM25
    assert found(archive, "quantum") == [ids[0]]  # a story once
    assert found(archive, "Japan chips") == [ids[4], ids[2]]
    assert found(archive, "export controls") == [ids[4]]
    assert found(archive, "US-Japan") == [ids[4]]  # a compound is a phrase
    assert found(archive, "量子") == [ids[5]] and found(archive, "日米") == [ids[5]]
    assert found(archive, "半導体") == [ids[6]]  # three characters: two bigrams in a row
    assert found(archive, "導半") == []


def test_or_excluded_and_one_kanji_prefix(news):
    archive, ids = news
    assert found(archive, "Hiroshima OR Tokyo") == [ids[0], ids[2]]
    assert found(archive, "chips -China") == [ids[2], ids[3]]
    assert found(archive, "chips -China -rain") == [ids[2]]
    assert found(archive, "Hiroshima OR Tokyo -IBM") == [ids[2]]  # (either) and not IBM
    assert found(archive, "量子 OR 半導体") == [ids[5], ids[6]]
    assert found(archive, "米") == [ids[5], ids[7], ids[6]]  # 日米, 米価 and 米の, 米国
    assert found(archive, "米 -価格") == [ids[5], ids[6]]


def test_topic_since_and_lang_filter_within_the_matches(news):
    archive, ids = news
    assert found(archive, "chips", lang="ja") == [] and found(archive, "量子", lang="ja") == [ids[5]]
    assert found(archive, "chips OR 量子", topic="quantum") == [ids[5], ids[4]]
    assert found(archive, "chips", since=NOW + timedelta(days=1)) == []
    assert found(archive, "chips", since=NOW - timedelta(days=1)) == [ids[4], ids[2], ids[3]]


@pytest.mark.parametrize("words", [
    "'", "''", "chips'", "chips' | 'x", "\\", "chips\\", "\\'chips", "a:*", "chips:*", "chips:A",
    "& | ! <-> ( )", "chips & !china", "chips ! china", "(chips) | !(x)", "!chips", "chips<->china", "<2>",
    "chips <-> | &", '"export controls"', '"', "OR", "-", "- -chips", "OR chips OR", "米:*",
    "'米'", "chips OR OR -", "NEAR(chips china)", "chips*", "*", "a & b", "$$", "--chips",
    "chips -'", "量子'&'", "\x00chips", "chips\x00", "x" * 3000, "chips " + "y" * 3000,
])
def test_hostile_words_give_results_or_none_never_an_error(news, words):
    archive, ids = news
    results = found(archive, words)
    assert set(results) <= set(ids)
    if words in ("chips & !china", "chips ! china"):
        assert results == [ids[4]]  # operators are no words: china and chips both required
    if words in ("chips<->china", "(chips) | !(x)"):
        assert results == []  # a phrase "chips china"; chips and x both required
    if words.startswith("!chips"):
        assert ids[3] in results  # "!" is no negation


@pytest.mark.parametrize("words", ["the", "the of and", "the OR a", "the -chips", "a -the",
                                   "'the'", "the:*"])
def test_only_stopwords_find_nothing_on_postgresql_and_never_everything(news, words):
    archive, ids = news
    results = found(archive, words)
    if is_postgresql(archive.engine):
        assert results == []
    assert len(results) < len(ids) - 1  # never everything


def test_a_common_word_is_ranked_in_its_newest_matches_title_first(tmp_path, database_url):
    archive, ids = archive_of(tmp_path, [
        ("wire", "Japan chips", "Japan and chips, the oldest.", "en", False, 0),
        ("wire", "Other news", "Japan in passing.", "en", False, 1),
        ("wire", "Japan again", "Japan, a title match.", "en", False, 2),
        ("wire", "Newest", "Japan in the body, newest.", "en", False, 3),
        ("wire", "Rare Zorvex", "Zorvex and Japan.", "en", False, 4),
    ], url=database_url)
    every = rank(archive, "Japan", scored=10)  # few matches: BM25 over all of them
    assert set(every) == set(ids) and set(every[:2]) == {ids[0], ids[2]}  # title matches first
    assert rank(archive, "Japan", scored=2, newest=3) == [ids[2], ids[4], ids[3]]
    assert rank(archive, "Japan", limit=1, offset=1, scored=2, newest=3) == [ids[4]]
    assert rank(archive, "Zorvex", scored=2, newest=3) == [ids[4]]
    archive.close()


def test_common_words_select_but_only_rare_ones_weigh(tmp_path, database_url):
    archive, ids = archive_of(tmp_path, [
        ("wire", "Japan news", "Japan and a Zorvex in passing, Japan.", "en", False, 0),
        ("wire", "Zorvex Zorvex", "Zorvex in Japan.", "en", False, 1),
        ("wire", "Japan", "Japan only.", "en", False, 2),
        ("wire", "Japan chips", "Japan and chips.", "en", False, 3),
        ("wire", "Chips", "Chips and Japan.", "en", False, 4),
        ("wire", "More chips", "Chips, no country named.", "en", False, 5),
    ], url=database_url)
    for words in ("Zorvex Japan", "Japan Zorvex", "Zorvex -chips"):
        assert rank(archive, words, scored=2) == [ids[1], ids[0]]  # Zorvex in the title first
    assert rank(archive, "japan chips", scored=2) == [ids[3], ids[4]]  # both common: title, newest
    archive.close()


def test_the_best_report_stands_for_its_story_relevant_and_with_text_first(tmp_path,
                                                                           database_url):
    archive, ids = archive_of(tmp_path, [
        ("wire", "Quantum pact", "A quantum pact, quantum quantum.", "en", False, 0),
        ("daily", "Quantum pact", "", "en", True, 0),  # no text: a summary only
        ("blog", "Quantum pact", "The quantum pact.", "en", True, 0),
        ("wire", "Quantum", "Quantum quantum quantum news.", "en", False, 3),
        ("daily", "Quantum", "Quantum weather.", "en", False, 4),
    ], url=database_url)
    with archive.engine.begin() as db:
        db.execute(sa.text("UPDATE articles SET relevant = NULL WHERE id = :i"), {"i": ids[3]})
    for scored in (10, 1):  # ranked by BM25; a common word, by title match
        assert rank(archive, "quantum", scored=scored) == [ids[2], ids[4], ids[3]]
        assert rank(archive, "quantum", limit=1, offset=1, scored=scored) == [ids[4]]
    assert rank(archive, "quantum", scored=1, newest=4)[:1] == [ids[2]]
    archive.close()


def test_the_newest_matches_are_the_same_read_any_way(tmp_path):
    """PostgreSQL reads a query's newest matches walking the primary key, or from the GIN index
    (within the newest ids, or all): the same ids in the same order."""
    from pgdb import throwaway_database

    with throwaway_database() as url:
        archive, ids = archive_of(tmp_path, [
            ("wire", f"News {i}", "Chips and Japan." if i % 3 else "Japan only.", "en", False, i)
            for i in range(12)], url=url)
        with archive.engine.connect() as db:
            (japan,) = search_pg.words(db, "Japan").groups
            (chips,) = search_pg.words(db, "chips").groups
            for tsquery, every in ((japan, ids[::-1]), (chips, [ids[i] for i in range(11, -1, -1) if i % 3])):
                assert search_pg.Index(db)._matches(tsquery, 20) == every
                assert search_pg.Index(db)._matches(tsquery, 5, walk=True) == every[:5]
                assert search_pg.Index(db)._matches(tsquery, 3, above=ids[-6]) == every[:3]
                assert search_pg.Index(db).newest(tsquery, 4) == every[:4]
            # the planner's settings are this transaction's and restored after each read
            assert db.exec_driver_sql("SHOW enable_bitmapscan").scalar() == "on"
            assert db.exec_driver_sql("SHOW enable_indexscan").scalar() == "on"
        archive.close()
