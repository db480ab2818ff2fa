"""The labeling guide's categories and topics, one table of texts we wrote per category and per
topic (tests/categorytexts.py, tests/topictexts.py), in English and Japanese; and how the
category reaches a reader (the "why" line)."""

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from categorytexts import FALSE, TEXTS, TRUE
from sitesrv import FIXTURES
from test_classify import CLASSIFIER, TOPICS
from topictexts import TEXTS as TOPIC_TEXTS

from bot.classify import Classifier, Taxonomy
from bot.classify.categories import FALSE_CATEGORIES, TRUE_CATEGORIES
from bot.classify.evaluate import evaluate
from bot.classify.taxonomy import CATEGORY_GROUPS, SENTENCE_END
from bot.digest import why
from bot.models import ArticleView


def label(entry: tuple) -> str:
    return f"{entry[0]}-{entry[1]}-{entry[2][:30]}"


def test_the_tables_cover_every_category_and_topic_in_both_languages():
    assert set(TRUE) == set(TRUE_CATEGORIES) and set(FALSE) == set(FALSE_CATEGORIES)
    sizes = Counter((category, lang) for category, lang, *_ in TEXTS)
    assert all(sizes[c, lang] >= 1 for c in TRUE + FALSE for lang in ("en", "ja")), sizes
    topics = Counter((topic, lang) for topic, lang, *_ in TOPIC_TEXTS)
    assert all(topics[t, lang] >= 1 for t in CLASSIFIER.taxonomy.ids for lang in ("en", "ja"))


@pytest.mark.parametrize("entry", TEXTS, ids=label)
def test_each_category_of_the_guide(entry):
    category, lang, title, text = entry
    result = CLASSIFIER.classify(title, text, lang)
    assert result.relevant == (category in TRUE), (result.score, result.category)
    assert result.category == category, result


@pytest.mark.parametrize("entry", TOPIC_TEXTS, ids=label)
def test_each_topic_of_the_guide(entry):
    topic, lang, title, text, not_covered = entry
    result = CLASSIFIER.classify(title, text, lang)
    assert result.relevant, (result.score, result.category)
    assert topic in result.topics, result.topics
    assert not set(not_covered) & set(result.topics), result.topics
    assert all(result.evidence[t] for t in result.topics), result.evidence


@pytest.mark.parametrize("name", ["labeled-a.jsonl", "labeled-b.jsonl"])
def test_longer_written_sets_in_the_corpus_format(name):
    """Two sets of longer news-like texts we wrote in the corpus format (tests/fixtures/written:
    invented and real organisations in new pairings, page furniture, background sentences; the
    category in each `why`). Relevance F1 >= 0.97, topic micro-F1 >= 0.80, and the category the
    classifier names agrees with the written one for >= 80% of the items (a relevant text may
    be `cooperation`: the score alone carried it)."""
    rows = [json.loads(line) for line in (FIXTURES.parent / "written" / name).read_text("utf-8")
            .splitlines()]
    report = evaluate(rows, CLASSIFIER)
    assert report.relevance.f1 >= 0.97 and report.topic_micro.f1 >= 0.80, report.as_dict()
    agree = 0
    for row in rows:
        written = row["why"].split(";")[0].removeprefix("category:").strip()
        result = CLASSIFIER.classify(row["title"], row["text"], row["lang"])
        agree += result.category == written or (result.category == "cooperation"
                                                and row["relevant"] and result.relevant)
    assert agree >= 0.8 * len(rows), (agree, len(rows))


def test_a_background_clause_is_not_the_category():
    """Japan's own subsidy to its chipmaker, whose US partner a later clause names, is one side
    acting: the partnership is not the text's subject."""
    result = CLASSIFIER.classify(
        "Japan approves more funding for domestic 2nm chip venture",
        "Japan's industry ministry approved another 300 billion yen for a domestic chip venture "
        "building a 2nm fab in Hokkaido. The ministry said the money will pay for equipment and "
        "a pilot line. Officials expect mass production in 2027. The budget also covers "
        "training of engineers at Japanese universities. The venture, which licensed its "
        "process from an American partner, said it was grateful for the support.")
    assert not result.relevant and result.category in FALSE, result


def test_one_side_named_in_passing_past_the_lead_is_not_a_party():
    result = CLASSIFIER.classify(
        "国内電機大手と大学、量子アニーリングで共同研究",
        "国内電機大手と国内の大学は、量子アニーリングを使った物流の最適化で共同研究を始める。"
        "配送ルートの計算を高速にする。量子コンピューターの実用化を急ぐ。実証実験は来年度に行う。"
        "量子技術では米国の大手企業などが開発を競っている。")
    assert not result.relevant and result.category == "in_passing", result


def test_japanese_names_an_american_organisation_by_its_prefix():
    hits, _, _ = CLASSIFIER.hits("米オラクル、国内に拠点", "米ドル建てで投資する。米ARMの設計を使う。")
    assert hits["us"]["米…"] == 2 * 1 + 1  # the headline counts twice; 米ドル is a currency


def test_abbreviations_do_not_end_a_sentence():
    parts = SENTENCE_END.split("Kyocera Corp. and a U.S. firm formed a JV. Dr. Sato agreed. 次。")
    assert parts == ["Kyocera Corp. and a U.S. firm formed a JV", "Dr. Sato agreed", "次", ""]


def test_a_users_taxonomy_without_the_category_lists_still_classifies():
    """The category lists are optional: a topics.toml written before them still loads; only
    the categories that need them go unmatched."""
    old = json.loads(json.dumps(TOPICS))
    for group in CATEGORY_GROUPS:
        old["relevance"].pop(group)
    classifier = Classifier(Taxonomy.from_dict(old, "topics.toml"))
    result = classifier.classify("US and Japan sign quantum computing agreement",
                                 "The United States and Japan agreed to cooperate on quantum "
                                 "computing and to share quantum computers at national labs.")
    assert result.relevant and result.category == "agreement"


def test_the_why_line_names_the_category_first():
    view = ArticleView(
        id=1, source_id="s", source_name="Outlet", url="https://example.com/a", title="t",
        lang="en", published=None, first_seen=datetime(2026, 12, 1, tzinfo=UTC), score=0.9,
        relevant=True, topics=("semiconductors",), evidence={"semiconductors": ("fab",)},
        extraction_status="ok", actors={"us": ("Micron",), "japan": ("Hiroshima",)},
        cues=("invest",), category="investment")
    assert why(view).startswith("category: investment; US: Micron; Japan: Hiroshima")
