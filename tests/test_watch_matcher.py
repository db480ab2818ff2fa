"""Watches compiled into one matcher: the search grammar's semantics, English and Japanese, bad
queries refused in one line, and the same articles as archive search on a real SQLite archive."""

import pytest
from test_search_scale import archive_of

from bot.store.fts import WORD, index_text, match_query, tsquery_words
from bot.watches import compile_watches, highlight
from bot.watches.matcher import tokens

ARTICLE = ("Rapidus and IBM deepen chip ties",
           "Japan's Rapidus said on Monday it would extend its partnership with IBM on 2nm "
           "semiconductors. The companies also discussed Open RAN equipment for 5G networks. "
           "日米両政府は量子技術で協力する。ソフトバンクとエヌビディアも参加した。")


def matched(queries, title=ARTICLE[0], text=ARTICLE[1]):
    matcher = compile_watches(list(enumerate(queries)))
    return [queries[i] for i, _ in matcher.match(title, text)]


def test_every_word_is_required_in_title_or_text_whatever_its_case():
    assert matched(["rapidus IBM", "RAPIDUS monday", "rapidus samsung"]) == [
        "rapidus IBM", "RAPIDUS monday"]
    assert matched(["deepen networks"]) == ["deepen networks"]  # one in the title, one in the text
    assert matched(["rapid", "semi", "partner"]) == []  # whole words, not any substring


def test_or_needs_either_and_a_minus_excludes():
    assert matched(["samsung OR rapidus", "samsung OR intel", "rapidus -samsung",
                    "rapidus -ibm", "rapidus OR samsung -korea 5G"]) == [
        "samsung OR rapidus", "rapidus -samsung", "rapidus OR samsung -korea 5G"]


def test_quoted_words_are_a_phrase_of_adjacent_words():
    assert matched(['"open ran"', '"ran open"', "ran open", '"ibm rapidus"', "-\"x\" \"2nm "
                    'semiconductors"', '-"open ran" rapidus']) == [
        '"open ran"', "ran open", '-"x" "2nm semiconductors"']
    # a phrase is within the title or within the text, never across them
    assert matched(['"ties japan"', "ties japan"]) == ["ties japan"]


def test_search_reads_quoted_words_as_one_phrase_and_other_queries_as_before():
    assert match_query('"open ran" japan') == '"open ran" AND "japan"'
    assert match_query('-"open ran" "unclosed quote') == '"unclosed quote" NOT ("open ran")'
    assert match_query('"a OR b" OR c') == '("a OR b" OR "c")'  # OR inside quotes is a word
    assert tsquery_words('"open ran" -"x y"') == ([["'open' <-> 'ran'"]], ["'x' <-> 'y'"])
    assert match_query('foo"bar baz"') == '"foo bar" AND "baz"'  # no piece opens with a quote
    assert match_query('""') is None and match_query('"" chips') == '"chips"'


def test_an_article_is_read_in_the_words_the_index_holds_with_their_places():
    text = "IBMと2nm、ソフト・バンクの半導体_x café 日 " + ARTICLE[1]
    found = tokens(text)
    assert [w for w, _, _ in found] == WORD.findall(index_text(text))
    assert found[:4] == [("IBM", 0, 3), ("と", 3, 4), ("2nm", 4, 7), ("ソフ", 8, 10)]
    assert all(text[start:end] == word for word, start, end in found)


def test_words_match_as_the_index_stems_them():
    assert matched(["semiconductor", "partnerships", "network", "discussing", "rapids"]) == [
        "semiconductor", "partnerships", "network", "discussing"]


def test_japanese_two_character_words_katakana_names_and_one_kanji():
    assert matched(["量子", "日米", "量子技術", "ソフトバンク", "エヌビディア 協力", "技量",
                    "米", "韓", "日米 -量子"]) == [
        "量子", "日米", "量子技術", "ソフトバンク", "エヌビディア 協力", "米"]
    # 米 starts the bigram 米両; a kanji that only ends a run (体 of 半導体) starts none
    assert matched(["体"], text="半導体") == [] and matched(["半"], text="半導体") == ["半"]


def test_matches_name_the_words_found_for_highlighting():
    matcher = compile_watches([(7, "samsung OR rapidus \"open ran\" -korea"), (9, "量子 OR x"),
                               (3, "量子技術 US-Japan -日米 OR 2nm")])
    assert matcher.match(*ARTICLE) == [(7, ("rapidus", "open ran")), (9, ("量子",))]
    assert matcher.match("US-Japan pact", "量子技術") == [(9, ("量子",)),
                                                        (3, ("量子技術", "US Japan"))]
    lead = "Open RAN: Rapidus chips; 日米の量子協力, ran open"
    spans = highlight(lead, ["open ran", "Rapidus", "量子", "chip"])
    assert [lead[a:b] for a, b in spans] == ["Open RAN", "Rapidus", "chips", "量子"]
    assert highlight(lead, []) == [] and highlight("", ["x"]) == []


@pytest.mark.parametrize(("query", "problem"), [
    ("", "no words"), ("   OR  ", "no words"), ("-korea -china", "only excluded words"),
    (" ".join(f"w{i}" for i in range(40)), "too many words in the query: 40, at most 32")])
def test_a_bad_query_is_refused_in_one_line_naming_the_watch(query, problem):
    with pytest.raises(ValueError, match=problem) as refused:
        compile_watches([(1, "rapidus"), (5, query)])
    assert str(refused.value).startswith("watch 5: ") and "\n" not in str(refused.value)


def test_most_watches_are_never_looked_at_for_an_article():
    matcher = compile_watches([(i, f"name{i} OR other{i} japan") for i in range(1000)]
                              + [(1000, "rapidus -samsung")])
    assert len(matcher) == 1001 and matcher.match(*ARTICLE) == [(1000, ("rapidus",))]
    assert matcher.match("name7 news", "Japan") == [(7, ("name7", "japan"))]


ITEMS = [  # (source, title, text, lang, relevant, story): each its own story
    ("a", "Rapidus and IBM extend 2nm chip partnership", "Rapidus of Japan and IBM of the "
     "United States extend their partnership on semiconductors.", "en", True, 0),
    ("a", "Open RAN trial in Tokyo", "NTT Docomo and a US vendor test open RAN radios; the "
     "ran open question is cost.", "en", True, 1),
    ("b", "Samsung expands foundry", "Samsung of Korea expands its foundry for chips.", "en",
     False, 2),
    ("b", "Quantum computing pact", "Japan and the US sign a quantum computing pact; IBM "
     "will ship a system to RIKEN.", "en", True, 3),
    ("c", "日米が量子技術で協力", "日米両政府は量子コンピューターの開発で協力する。", "ja", True, 4),
    ("c", "半導体の輸出規制", "米商務省はエンティティーリストに中国企業を追加した。", "ja", True, 5),
    ("c", "ソフトバンクがAI投資", "ソフトバンクはエヌビディアと提携し、半導体に投資する。", "ja",
     False, 6),
    ("a", "Entity list additions", "The Commerce Department added firms to the entity list; "
     "Japan's chip makers are not affected.", "en", True, 7),
]
QUERIES = ["rapidus", "IBM -quantum", "chip OR chips", "semiconductor", '"open ran"',
           "ran open", '"ran open"', "japan -korea", '"entity list"', "量子", "半導体 -ソフトバンク",
           "米", "ソフトバンク OR IBM", "partnerships", "samsung OR 協力 -foundry"]


def test_the_matcher_selects_what_archive_search_finds(tmp_path, database_url):
    archive, ids = archive_of(tmp_path, ITEMS, database_url)
    matcher = compile_watches(list(enumerate(QUERIES)))
    selected = {i: set() for i in range(len(QUERIES))}
    for article_id, (_, title, text, *_) in zip(ids, ITEMS, strict=True):
        for watch_id, _ in matcher.match(title, text):
            selected[watch_id].add(article_id)
    for i, query in enumerate(QUERIES):
        found = {view.id for view in archive.search(query, limit=100)}
        assert selected[i] == found, query
    assert all(selected.values()) and len({frozenset(s) for s in selected.values()}) > 8
