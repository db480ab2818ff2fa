import re

from bot.store.fts import index_text, match_query, snippet, tsquery_words


def test_cjk_runs_become_bigrams_and_latin_stays():
    assert index_text("日米の量子協力 IBM") == " 日米 米の の量 量子 子協 協力  IBM"


def test_queries_are_quoted_phrases_and_cannot_inject_operators():
    assert match_query("量子") == '"量子"'
    assert match_query("半導体") == '"半導 導体"'
    assert match_query('chips NEAR/3 "x"') == '"chips" AND "NEAR 3" AND "x"'
    assert match_query("US-Japan chips") == '"US Japan" AND "chips"'  # a compound: a phrase
    assert match_query("-y") is None and match_query("OR OR") is None


def test_or_needs_either_and_a_minus_excludes():
    assert match_query("chips OR quantum Japan") == '("chips" OR "quantum") AND "Japan"'
    assert match_query("日米 OR 量子 -korea -EU") == '("日米" OR "量子") NOT ("korea" OR "EU")'
    assert match_query("or chips") == '"or" AND "chips"'  # lower-case "or" is a word
    assert match_query("米") == '"米"*'
    assert match_query("  --  ") is None


def test_snippets_are_readable_text_around_the_match():
    text = "前文。" * 50 + "日米両政府は量子技術で協力する。" + "後文。" * 50
    piece = snippet(text, "量子", width=40)
    assert "量子技術で協力" in piece and " 量子 " not in piece and piece.startswith("…")
    assert snippet("Chips alliance", "nothing") == "Chips alliance"


def test_a_pasted_page_is_not_a_thousand_term_query():
    query = match_query(" ".join(["Rapidus"] * 30000 + [f"w{i}" for i in range(500)]))
    assert query.count(" AND ") == 31 and query.startswith('"Rapidus" AND "w0"')


def test_postgresql_queries_are_quoted_words_from_the_same_parse():
    assert tsquery_words("量子") == ([["'量子'"]], [])
    assert tsquery_words("半導体") == ([["'半導' <-> '導体'"]], [])
    assert tsquery_words("米") == ([["'米':*"]], [])  # one kanji: a prefix
    assert tsquery_words("US-Japan chips OR quantum -korea") == (
        [["'US' <-> 'Japan'"], ["'chips'", "'quantum'"]], ["'korea'"])
    assert tsquery_words("-y") is None and tsquery_words("OR OR") is None
    hostile = "a':* & !b | (c <-> d) \\' e\\ f:A 'g'"
    groups, excluded = tsquery_words(hostile)
    for phrase in [p for g in groups for p in g] + excluded:  # only quoted \w+ words, <->, :*
        assert re.fullmatch(r"'\w+'( <-> '\w+')*(:\*)?", phrase), phrase
