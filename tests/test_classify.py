"""The first classifier: table-driven on our fixture pages, a quality gate on the labeled corpus."""

import json
import tomllib

import pytest
from conftest import ROOT, need_corpus
from sitesrv import FIXTURES
from test_extract import NOW

from bot.classify import Classifier, Taxonomy
from bot.classify.classifier import worth_fetching
from bot.classify.taxonomy import Lexicon
from bot.extract import extract_page

TOPICS = tomllib.loads((ROOT / "config" / "topics.toml").read_text(encoding="utf-8"))
TAXONOMY = Taxonomy.from_dict(TOPICS, "topics.toml")
CLASSIFIER = Classifier(TAXONOMY, 0.5)
MANIFEST = tomllib.loads((FIXTURES / "MANIFEST.toml").read_text(encoding="utf-8"))
NEWS = [a for a in MANIFEST["articles"] if a["kind"] == "article"]


@pytest.mark.parametrize("page", NEWS, ids=lambda a: a["name"])
def test_fixture_articles_relevance_topics_and_evidence(page):
    body = (FIXTURES / "articles" / f"{page['name']}.html").read_bytes()
    text = extract_page(body, "http://x/", content_type="text/html", now=NOW).text
    result = CLASSIFIER.classify(page["title"], text)
    assert result.relevant == page["relevant"], result
    assert 0.0 <= result.score <= 1.0
    if page["relevant"]:
        assert set(result.topics) & set(page["topics"])
        for topic in result.topics:
            assert result.evidence[topic], f"{topic} has no evidence"


def test_matching_rules():
    lexicon = Lexicon({"a": ["US", "chipmaker", "semiconductor*", "半導体", "U.S.-Japan"],
                       "b": ["U.S.", "Japan", "半導体製造装置"]})
    counts = lexicon.count("The US and us; Chipmaker chipmakers; semiconductors; 日米の半導体協力; "
                           "U.S.-Japan ties; IBMの; 半導体製造装置; U.S.A.")
    assert counts["a"] == {"US": 1, "chipmaker": 1, "semiconductor*": 1, "半導体": 2,
                           "U.S.-Japan": 1}
    assert counts["b"] == {"U.S.": 1, "Japan": 1, "半導体製造装置": 1}  # overlaps count
    assert Lexicon({"x": ["IBM", "AI"]}).count("IBMと日本のＡＩ")["x"] == {"IBM": 1, "AI": 1}


def test_a_users_taxonomy_edit_takes_effect():
    edited = json.loads(json.dumps(TOPICS))
    edited["topics"][0]["terms"].append("robot butler")
    taxonomy = Taxonomy.from_dict(edited, "topics.toml")
    result = Classifier(taxonomy).classify("US and Japan robot butler robot butler pact", "")
    assert TAXONOMY.ids[0] in result.topics and "robot butler" in result.evidence[TAXONOMY.ids[0]]


def test_one_country_or_non_tech_is_not_relevant():
    assert not CLASSIFIER.classify(
        "US adds Chinese chipmakers to entity list",
        "The Commerce Department added 20 Chinese chipmakers to the entity list.").relevant
    assert not CLASSIFIER.classify(
        "Japan and US agree on auto tariffs",
        "Tokyo and Washington agreed to cut tariffs on cars and beef imports.").relevant


def _dev_rows():
    path = need_corpus("labeled", "dev.jsonl")
    return [r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())
            if not r["borderline"]]


def test_prefilter_keeps_nearly_every_relevant_item():
    """The firehose prefilter sees only title + the start of the text (a feed summary)."""
    for lang in ("en", "ja"):
        rows = [r for r in _dev_rows() if r["lang"] == lang]
        relevant = [r for r in rows if r["relevant"]]
        kept = sum(worth_fetching(TAXONOMY, r["title"], r["text"][:300], lang) for r in relevant)
        assert kept / len(relevant) >= 0.97, f"{lang} prefilter recall {kept}/{len(relevant)}"
    # and it does filter: a general outlet's everyday stories are not fetched
    assert not worth_fetching(TAXONOMY, "City council approves budget", "The vote was 7-2.")
    assert not worth_fetching(TAXONOMY, "東京で初雪", "気象庁によると平年より早い。", "ja")
    assert worth_fetching(TAXONOMY, "米IBMと量子計算で連携", "", "ja")
