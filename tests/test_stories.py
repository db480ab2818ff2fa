"""Story grouping beyond copies: reports of one event in other words, kept apart from other
events on the same topic and from the same partners' earlier agreements."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path

import pytest
from conftest import ROOT, need_corpus, write_config
from newsite import MANIFEST, news_sources, query, serve_news_site
from sitesrv import Reply, Site
from storytexts import (
    FUSION_DEAL,
    JA_DEAL,
    JA_FUSION_DEAL,
    JA_OTHER,
    OTHER_FUSION_DEAL,
    TEMPLATE_DEALS,
)

from bot.config import StorySettings, read_toml
from bot.digest import stories
from bot.errors import ConfigError
from bot.models import ArticleView
from bot.stories.evaluate import evaluate_stories, group
from bot.stories.events import (
    Idf,
    StoryTerms,
    figures,
    index_terms,
    names,
    similarity,
    story_terms,
    terms,
)
from bot.stories.glossary import Glossary

DAY = date(2026, 11, 16)
SEEDS = [story_terms(p.stem, p.read_text(encoding="utf-8"), None)
         for p in (ROOT / "seeds").glob("*.txt")]
SAME_EVENT = StorySettings().same_event
SAME_EVENT_UNDATED = StorySettings().same_event_undated
GLOSSARY = Glossary.from_dict(read_toml(ROOT / "config" / "glossary.toml"), "glossary.toml")


def idf_with(*items):
    return Idf.of([*items, *SEEDS])


def test_three_outlets_in_their_own_words_are_one_event_another_deal_is_not():
    reports = [story_terms(t, x, DAY) for t, x in FUSION_DEAL]
    other = story_terms(*OTHER_FUSION_DEAL, DAY)
    idf = idf_with(*reports, other)
    for i, a in enumerate(reports):
        for b in reports[i + 1:]:
            assert similarity(a, b, idf, 14) >= SAME_EVENT_UNDATED
        assert similarity(a, other, idf, 14) < SAME_EVENT  # same topic, day and country pair


def test_japanese_reports_of_one_event_are_alike_and_another_event_is_not():
    reports = [story_terms(t, x, DAY) for t, x in JA_DEAL]
    other = story_terms(*JA_OTHER, DAY)
    idf = idf_with(*reports, other)
    assert similarity(*reports, idf, 14) >= SAME_EVENT_UNDATED
    assert all(similarity(r, other, idf, 14) < SAME_EVENT for r in reports)
    assert "jpy4e+10" in reports[0].figures & reports[1].figures  # full-width digits read alike
    assert not any(k in ("した", "して") for k in index_terms(reports[0], idf))


def test_a_japanese_report_meets_the_english_ones_in_the_glossarys_words():
    ja = story_terms(*JA_FUSION_DEAL, DAY, GLOSSARY)
    ja_other = story_terms(*JA_OTHER, DAY, GLOSSARY)
    reports = [story_terms(t, x, DAY, GLOSSARY) for t, x in FUSION_DEAL]
    other = story_terms(*OTHER_FUSION_DEAL, DAY, GLOSSARY)
    idf = idf_with(ja, ja_other, *reports, other)
    assert reports[0].english is None and ja.english is not None
    assert story_terms(JA_FUSION_DEAL[0], "", DAY, GLOSSARY).english  # a headline alone too
    assert {"hitachi", "oak", "ridge", "laboratory", "tennessee"} <= ja.english.names
    assert "usd4.8e+07" in ja.figures & reports[0].figures
    assert all(similarity(ja, r, idf, 14) >= SAME_EVENT_UNDATED for r in reports)
    assert similarity(ja, other, idf, 14) < SAME_EVENT  # the other fusion deal
    assert all(similarity(ja_other, r, idf, 14) < SAME_EVENT for r in reports)
    ja_deal = [story_terms(t, x, DAY, GLOSSARY) for t, x in JA_DEAL]
    assert similarity(*ja_deal, idf, 14) >= SAME_EVENT  # two Japanese reports: their own words
    plain = story_terms(*JA_FUSION_DEAL, DAY)  # no glossary: little but the figure in common
    assert plain.english is None and similarity(plain, reports[0], idf, 14) < SAME_EVENT
    keys = index_terms(ja, idf)
    assert "ridge" in keys and "ブランケット" in keys  # found by both
    assert StoryTerms.from_json(json.loads(json.dumps(ja.as_json()))) == ja  # as stored


def test_the_glossary_matches_whole_terms_the_longest_first():
    glossary = Glossary.from_dict({
        "countries": {"米": "US", "日米": "Japan|US", "北米": ""},
        "people": {"ロス": "Ross"}, "surnames": {"林": "Hayashi"},
        "titles": {"外相": "foreign minister"}}, "glossary.toml")

    def english(text: str) -> list[str]:
        return [e for _, rendering in glossary.scan(text) for e in rendering.english]

    assert english("日米と北米、米国") == ["Japan", "US", "US"]  # 北米 is no US
    assert english("クロスオーバー、ロス氏") == ["Ross"]  # a katakana word, whole
    assert english("林外相と森林") == ["Hayashi", "foreign minister"]  # a surname before a title
    for bad, where in (({"planets": {}}, "planets"), ({"people": {"トランプ": 1}}, "people.トランプ"),
                       ({"people": "Trump"}, "people")):
        with pytest.raises(ConfigError, match=where):
            Glossary.from_dict(bad, "glossary.toml")


def test_press_releases_from_one_template_about_different_deals_stay_apart():
    """The same wording and day, often the same field or city; other companies, agencies or
    people in common none: other deals. (An acronym field, "AI chip packaging", is a name in
    common, so a pair or two may still meet; without the rule a dozen do.)"""
    rows = [{"id": f"d{i}", "title": t, "text": x, "lang": "en", "published": "2026-11-20",
             "event": f"deal-{i}"} for i, (t, x) in enumerate(TEMPLATE_DEALS)]
    seeds = [{"id": f"s{i}", "title": p.stem, "text": p.read_text(encoding="utf-8"),
              "published": None, "event": None}
             for i, p in enumerate(sorted((ROOT / "seeds").glob("*.txt")))]
    report = evaluate_stories(rows + seeds, StorySettings())
    assert report.pairs_found <= 2, report
    same_field = [story_terms(*TEMPLATE_DEALS[i], DAY) for i in (0, 12)]
    idf = idf_with(*(story_terms(t, x, DAY) for t, x in TEMPLATE_DEALS))
    assert similarity(*same_field, idf, 14) == 0.0


def test_the_same_partners_a_year_later_are_another_event():
    first = story_terms(*FUSION_DEAL[0], DAY)
    again = story_terms(*FUSION_DEAL[1], date(2027, 11, 20))
    undated = story_terms(*FUSION_DEAL[1], None)
    idf = idf_with(first, again)
    assert similarity(first, again, idf, 14) == 0.0
    assert similarity(first, undated, idf, 14) >= SAME_EVENT_UNDATED  # no date: words decide


def test_rare_terms_weigh_more_than_common_ones():
    idf = Idf(100, {"japan": 90, "hitachi": 2})
    assert idf("hitachi") > 3 * idf("japan") > 0
    assert idf("never-seen") > idf("hitachi")


def test_terms_names_and_figures():
    assert terms("The chipmakers' plans for Rapidus's 2nm line") == \
        ["chipmaker", "plan", "rapidu", "2nm", "line"]
    assert terms("日米が量子で協力") == ["日米", "米が", "が量", "量子", "子で", "で協", "協力"]
    found = figures("On May 3, 2024 the $110 million fund, 15% of it from Amazon, 2 nm, 300億円")
    assert found == {"usd1.1e+08", "15%", "2nm", "jpy3e+10"}  # days and years are not figures
    alike = ["$110M", "US$110mn", "110 million dollars", "1億1000万ドル", "$110 million"]
    assert {figures(f"a {a} fund") for a in alike} == {frozenset({"usd1.1e+08"})}
    assert figures("2-nanometer chips, 15 percent") == figures("2nm chips, 15%")
    assert figures("3000億円, JPY 300B, 300 billion yen") == {"jpy3e+11"}
    assert {"hitachi", "oak", "ridge", "laboratory"} <= story_terms(*FUSION_DEAL[0], DAY).names
    # an actor named more or less fully is one name word in common, not two different names
    assert names("Prime Minister Sanae Takaichi met the U.S.-Japan Council") & \
        names("Takaichi said") == {"takaichi"}
    stored = {"lead": {}, "body": {}, "names": ["oak ridge national laboratory"], "figures": [],
              "day": None}  # an archive's terms from before names were split
    assert StoryTerms.from_json(stored).names == {"oak", "ridge", "national", "laboratory"}


def view(article_id: int, source: str, text_length: int, score: float) -> ArticleView:
    return ArticleView(id=article_id, source_id=source, source_name=source.title(),
                       url=f"https://{source}.example/{article_id}", title=f"report {article_id}",
                       lang="en", published=None, first_seen=datetime(2026, 11, 22, tzinfo=UTC),
                       score=score, relevant=True, topics=("energy",), evidence={},
                       extraction_status="full", story_id=1, text_length=text_length)


def test_a_storys_lead_is_from_the_preferred_source_else_the_most_complete_text():
    members = [view(1, "wire", 900, 0.9), view(2, "daily", 4000, 0.7), view(3, "kyodo", 600, 0.6),
               view(4, "nikkei", 2000, 0.8), view(5, "solo", 300, 0.95)]
    (lead,) = stories(members[:4])
    assert lead.id == 2 and lead.also == ("Wire", "Kyodo", "Nikkei")  # the most text
    assert lead.score == 0.9  # the story ranks by its best report
    (lead,) = stories(members[:4], ["kyodo", "nikkei"])
    assert lead.id == 3 and set(lead.also) == {"Wire", "Daily", "Nikkei"}
    (lead,) = stories(members[:4], ["absent", "nikkei", "kyodo"])
    assert lead.id == 4
    other = replace(members[4], story_id=2)
    assert {a.id for a in stories([*members[:2], other], ["solo"])} == {2, 5}  # per story
    padded = view(6, "odd", 2_500_000, 0.9)  # a report followed by megabytes of filler
    (lead,) = stories([*members[:4], padded])
    assert lead.id == 2 and "Odd" in lead.also
    footer = view(7, "reprint", 4900, 0.95)  # the copy with a wire header and footer, seen later
    (lead,) = stories([footer, *members[:4]])
    assert lead.id == 2 and "Reprint" in lead.also  # the original, first seen


def fusion_rows() -> list[dict]:
    """Three reports of one deal (f0-f2), another deal (k1) and the seed documents, labeled."""
    rows = [{"id": f"f{i}", "title": t, "text": x, "lang": "en", "published": "2026-11-16",
             "relevant": True, "borderline": False, "topics": ["energy"], "event": "fusion"}
            for i, (t, x) in enumerate(FUSION_DEAL)]
    rows.append({"id": "k1", "title": OTHER_FUSION_DEAL[0], "text": OTHER_FUSION_DEAL[1],
                 "lang": "en", "published": "2026-11-16", "relevant": True, "borderline": False,
                 "topics": ["energy"], "event": "kyoto"})
    return rows + [{"id": f"s{i}", "title": p.stem, "text": p.read_text(encoding="utf-8"),
                    "lang": "en", "published": None, "relevant": True, "borderline": False,
                    "topics": [], "event": None}
                   for i, p in enumerate(sorted((ROOT / "seeds").glob("*.txt")))]


def test_eval_stories_groups_reports_in_other_words(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    rows = fusion_rows()
    path = tmp_path / "fusion.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    code, out, _ = cli("eval", str(path), "--stories", "--json")
    report = json.loads(out)
    assert code == 0 and report["pairs_labeled"] == 3 == report["pairs_found"]
    assert report["precision"] == 1.0 and report["recall"] == 1.0
    rows.append({**rows[0], "id": "j1", "lang": "ja", "title": JA_FUSION_DEAL[0],
                 "text": JA_FUSION_DEAL[1]})  # the Japanese outlet's report: in the glossary's
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")  # words
    code, out, _ = cli("eval", str(path), "--stories")
    assert code == 0 and "pairs: 6 found, 6 labeled; precision 1.000  recall 1.000" in out
    assert "Across languages: 3 of 3 labeled pairs found" in out
    rows.append({**rows[0], "id": "bad-date", "published": "not a date"})  # skipped, said
    rows.append({**rows[0], "title": "a stray line", "text": "x", "event": None})  # id again
    rows.append({k: v for k, v in rows[1].items() if k != "id"})  # no id: its line is its id
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    code, out, err = cli("eval", str(path), "--stories")
    assert code == 0 and "pairs: 10 found, 10 labeled" in out  # the no-id copy: 5 reports
    assert f"line {len(rows) - 1}: id 'f0' again (the first one is kept)" in err
    assert f"line {len(rows) - 2}: 'published' must be a date (2025-10-28) or null, not " \
        "'not a date'" in err


def test_eval_stories_names_the_events_it_splits_and_the_stories_it_mixes(cli, tmp_path,
                                                                         monkeypatch):
    """Where recall and precision are lost, for whoever tunes the settings."""
    monkeypatch.chdir(ROOT)
    rows = fusion_rows()
    path = tmp_path / "fusion.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert "split" not in cli("eval", str(path), "--stories")[1]  # all found: nothing listed
    rows[3]["event"] = "fusion"  # labeled one story with the other deal: split
    rows[0]["event"] = rows[2]["event"] = "kyoto"  # labeled apart from their story: mixed
    rows[4]["event"] = "kyoto"  # and one with a seed document: split too
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    code, out, _ = cli("eval", str(path), "--stories")
    assert code == 0 and out.splitlines()[3:] == [
        "Events split into several stories (pairs missed):",
        "  kyoto: 3 items in 2 stories (2)",
        "  fusion: 2 items in 2 stories (1)",
        "Stories mixing events (their items):",
        "  f0, f1, f2"]
    code, out, _ = cli("eval", str(path), "--stories", "--json")
    report = json.loads(out)
    assert report["split_events"][1] == {"event": "fusion", "items": 2, "stories": 2,
                                         "pairs_missed": 1}
    assert report["mixed_stories"] == [["f0", "f1", "f2"]]


def test_story_grouping_on_the_labeled_dev_set_is_precise():
    """Targets: precision >= 0.95 and recall >= 0.80. Precision holds; recall is at 0.49, where
    a lexical comparison of differently worded reports stops (see the closing notes of issue 7):
    pinned here so it cannot slip."""
    dev = need_corpus("labeled", "dev.jsonl")
    rows = [json.loads(line) for line in dev.read_text(encoding="utf-8").splitlines()]
    report = evaluate_stories(rows, StorySettings(), GLOSSARY)  # as `techwatch eval` does
    assert report.precision >= 0.95 and report.recall >= 0.49, report
    assert report.pairs_found_across_languages >= 6, report  # the glossary's English words
    own = [{**r, "event": r["id"]} for r in rows]  # each its own story, and a copy of it
    copies = [{**r, "id": f"{r['id']}-copy"} for r in own]
    both = evaluate_stories(own + copies, StorySettings())
    assert both.recall == 1.0  # the same text under another URL: always its story


def test_story_grouping_on_a_written_set_of_events_never_mixes_them():
    """A set we wrote (tests/fixtures/written/stories.jsonl): 28 events reported by 2-4 outlets
    in other words, every one in English and Japanese, beside events of the same subject that
    must stay apart (one agency's rule a year apart, undated; two flights of one rocket; the
    second and third round of a dialogue; a deal and its expansion; two plants in one
    prefecture). No story mixes events; recall and cross-language pairs are pinned where they
    are (0.69, 30 of 47) so they cannot slip."""
    path = Path(__file__).parent / "fixtures" / "written" / "stories.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    report = evaluate_stories(rows, StorySettings(), GLOSSARY)
    assert report.precision == 1.0 and not report.mixed_stories, report.mixed_stories
    assert report.recall >= 0.65 and report.pairs_found_across_languages >= 28, report


SLACK = """
[stories]
preferred_sources = ["tokyo-tech-news"]

[slack]
alert_max_age_hours = 120

[[slack.alerts]]
channel = "C0ALERTS"
topics = []
min_score = 0.3
"""


def page(title: str, text: str) -> bytes:
    lang, stop = ("ja", "。") if "。" in text else ("en", ". ")
    paragraphs = "".join(f"<p>{escape(s.strip())}{stop.strip()}</p>"
                         for s in text.split(stop) if s.strip())
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}"
            f"</title></head><body><nav><a href='/'>Home</a></nav><article><h1>{escape(title)}"
            f"</h1>{paragraphs}</article><footer>Copyright</footer></body></html>").encode()


def serve_outlet(site, outlet: str, stories: list[tuple[str, str]], hour: int,
                 dated: bool = True) -> dict:
    """A feed of the stories and their pages; `dated=False`: neither says when it was published."""
    items = ""
    for k, (title, text) in enumerate(stories):
        path = f"/{outlet}/{k}.html"
        site.route(path, Reply(body=page(title, text),
                               headers={"Content-Type": "text/html; charset=utf-8"}))
        when = f"<pubDate>Sun, 22 Nov 2026 {hour:02d}:{k:02d}:00 GMT</pubDate>" if dated else ""
        items += f"<item><title>{escape(title)}</title><link>{site.url(path)}</link>{when}</item>"
    feed = f'<rss version="2.0"><channel><title>{outlet}</title>{items}</channel></rss>'
    site.route(f"/{outlet}.xml", Reply(body=feed.encode(), headers={"Content-Type": "text/xml"}))
    return {"id": outlet, "name": outlet.replace("-", " ").title(),
            "url": site.url(f"/{outlet}.xml")}


def serve_aggregator(site, items: list[tuple[str, str, str]], day: str) -> dict:
    """An aggregator's feed at /agg.xml of (title, link path, extra XML) items, a minute apart
    from 07:00 on `day` ("Sun, 22 Nov 2026"); its source."""
    xml = "".join(f"<item><title>{title}</title><link>{site.url(path)}</link>{extra}"
                  f"<pubDate>{day} 07:0{k}:00 GMT</pubDate></item>"
                  for k, (title, path, extra) in enumerate(items))
    site.route("/agg.xml", Reply(body=f'<rss version="2.0"><channel><title>Agg</title>{xml}'
                                      f"</channel></rss>".encode(),
                                 headers={"Content-Type": "text/xml"}))
    return {"id": "agg", "name": "Aggregator", "url": site.url("/agg.xml")}


def test_a_story_grows_over_three_polls_and_its_thread_gets_each_new_outlet(site, tmp_path, cli,
                                                                           slack, token, database_url):
    outlets = [serve_outlet(site, "pacific-wire", [FUSION_DEAL[0], OTHER_FUSION_DEAL], 6),
               serve_outlet(site, "energy-daily", [FUSION_DEAL[1]], 8),
               serve_outlet(site, "tokyo-tech-news", [FUSION_DEAL[2]], 10)]
    config: Path | None = None
    for poll in range(1, 4):
        config = write_config(tmp_path, outlets[:poll], extra=SLACK, database=database_url)
        code, _, err = cli("--config", str(config), "run", "--once")
        assert code == 0, err
    stories = dict(query(config, "SELECT title, story_id FROM articles WHERE source_id != 'seed'"))
    fusion = {stories[t] for t, _ in FUSION_DEAL}
    assert len(fusion) == 1 and stories[OTHER_FUSION_DEAL[0]] not in fusion
    roots = [p for p in slack.posts("C0ALERTS") if not p["thread_ts"]]
    shown = [json.dumps(p["blocks"]) for p in roots]
    assert sum(FUSION_DEAL[0][0] in s for s in shown) == 1  # one alert for the event
    assert sum(OTHER_FUSION_DEAL[0] in s for s in shown) == 1  # and one for the other deal
    assert not any(t in s for t, _ in FUSION_DEAL[1:] for s in shown)
    alert = next(p for p, s in zip(roots, shown, strict=True) if FUSION_DEAL[0][0] in s)
    replies = [json.dumps(p["blocks"]) for p in slack.posts("C0ALERTS")
               if p["thread_ts"] == alert["ts"]]
    assert len(replies) == 2
    assert "Energy Daily" in replies[0] and "Tokyo Tech News" in replies[1]
    code, out, _ = cli("--config", str(config), "search", "Hitachi", "--json")
    (result,) = [json.loads(line) for line in out.splitlines()]
    assert result["story_size"] == 3
    code, out, _ = cli("--config", str(config), "digest", "--dry-run")  # the terminal digest
    assert code == 0 and "2 stories" in out and not any(t in out for t, _ in FUSION_DEAL[:2])
    lead = out[out.index(FUSION_DEAL[2][0]):]  # the preferred source's report leads the story
    assert lead.split("\n")[1].strip().startswith("Tokyo Tech News · also: Pacific Wire, "
                                                  "Energy Daily ·")


def test_a_report_without_a_publication_date_must_agree_more_to_join_a_story(site, tmp_path,
                                                                            cli, more_databases):
    """With both dates known the window rules out last year's deal and stories.same_event is
    the bar; without one, only the words tell, and the bar is stories.same_event_undated."""
    rules = "[stories]\nsame_event = 0.2\nsame_event_undated = 0.95\n"
    for dated in (True, False):
        outlets = [serve_outlet(site, f"wire-{dated:d}", [FUSION_DEAL[0]], 6),
                   serve_outlet(site, f"daily-{dated:d}", [FUSION_DEAL[1]], 8, dated=dated)]
        config = write_config(tmp_path / str(dated), outlets, extra=rules,
                              database=more_databases())
        code, _, err = cli("--config", str(config), "run", "--once")
        assert code == 0, err
        rows = query(config, "SELECT coalesce(story_id, id), date_source FROM articles "
                             "WHERE source_id != 'seed'")
        assert sorted(source for _, source in rows) == \
            (["feed", "feed"] if dated else ["feed", "first_seen"])
        assert len({story for story, _ in rows}) == (1 if dated else 2), rows


def test_a_japanese_outlets_report_joins_the_english_story(site, tmp_path, cli, database_url):
    outlets = [serve_outlet(site, "pacific-wire", [FUSION_DEAL[0], OTHER_FUSION_DEAL], 6),
               serve_outlet(site, "nihon-tech", [JA_FUSION_DEAL, JA_OTHER], 8)]
    config = write_config(tmp_path, outlets, database=database_url)
    code, _, err = cli("--config", str(config), "run", "--once")
    assert code == 0, err
    stories = dict(query(config, "SELECT title, coalesce(story_id, id) FROM articles "
                                 "WHERE source_id != 'seed'"))
    assert stories[JA_FUSION_DEAL[0]] == stories[FUSION_DEAL[0][0]]
    assert len({stories[t] for t in (FUSION_DEAL[0][0], OTHER_FUSION_DEAL[0], JA_OTHER[0])}) == 3


def test_a_redirect_chain_and_a_canonical_link_to_an_archived_page_are_that_page(
        site, tmp_path, cli, slack, token, database_url):
    """Stored once: no second article, no "also reported by" the aggregator that linked it."""
    serve_news_site(site)
    en03 = next(a for a in MANIFEST["articles"] if a["name"] == "en-03")
    original = site.url(en03["path"])
    site.route("/go/abc", Reply(302, headers={"Location": "/go/def"}))  # a link shortener
    site.route("/go/def", Reply(301, headers={"Location": en03["path"] + "?utm_source=agg"}))
    mirror = site.fixture("articles/en-03.html").decode().replace(  # its own og:url, the
        'property="og:url" content="{BASE}/articles/en-03.html"', 'property="og:url" '
        'content="{BASE}/mirror/rover.html"').replace("{BASE}", site.base).replace(  # canonical
        en03["phrase"], "a cabin the size of two minibuses, the mirror adds")  # kept; edited
    site.route("/mirror/rover.html", Reply(body=mirror.encode(),
                                           headers={"Content-Type": "text/html; charset=utf-8"}))
    agg = serve_aggregator(site, [("Rover date set", "/go/abc", ""),
                                  ("Japan rover schedule", "/mirror/rover.html", "")],
                           "Wed, 18 Nov 2026")
    feeds = news_sources(site, ["en-rss2.xml"])
    only_identity = SLACK.replace("[stories]\n", "[stories]\nnear_duplicate = 1\nsame_event = 1\n")
    config = write_config(tmp_path, feeds, extra=only_identity, database=database_url)
    assert cli("--config", str(config), "run", "--once")[0] == 0
    alerts = len(slack.posts("C0ALERTS"))
    config = write_config(tmp_path, feeds + [agg], extra=only_identity, database=database_url)
    assert cli("--config", str(config), "run", "--once")[0] == 0
    assert query(config, "SELECT id FROM articles WHERE source_id = 'agg'") == []
    archived = query(config, "SELECT id FROM articles WHERE url = ?", original)[0][0]
    keys = {k for k, in query(config, "SELECT key FROM item_keys WHERE article_id = ?",
                                archived)}
    assert {f"url:{site.url(p)[len('http://'):]}" for p in ("/go/abc", "/mirror/rover.html")} \
        <= keys  # the aggregator's links find the page
    assert slack.posts("C0ALERTS")[alerts:] == []
    assert cli("--config", str(config), "run", "--once")[0] == 0  # seen again: nothing new
    assert query(config, "SELECT count(*) FROM articles WHERE source_id = 'agg'") == [(0,)]
    assert slack.posts("C0ALERTS")[alerts:] == []


@pytest.mark.parametrize("slow", ["the outlet's link", "the aggregator's redirect"])
def test_a_page_reached_by_two_links_in_one_poll_is_stored_once(site, tmp_path, cli, slow, database_url):
    """Whichever link's fetch ends first, the page is one article: the outlet's own, found by
    the aggregator's link too, with the page's text."""
    outlet = serve_outlet(site, "pacific-wire", [FUSION_DEAL[0]], 6)
    path = "/pacific-wire/0.html"
    fast = site.routes[path]
    slow_query = "utm_source" if slow == "the aggregator's redirect" else None
    site.route(path, lambda seen: replace(fast, delay=1.5 if (  # within the 3 s timeout
        "utm_source" in seen.path) == (slow_query is not None) else 0.0))
    site.route("/go/abc", Reply(302, headers={"Location": path + "?utm_source=agg"}))
    agg = serve_aggregator(site, [("Fusion pact", "/go/abc", "")], "Sun, 22 Nov 2026")
    config = write_config(tmp_path, [outlet, agg], database=database_url)
    code, _, err = cli("--config", str(config), "run", "--once")
    assert code == 0, err
    rows = query(config, "SELECT id, source_id, state, length(text) FROM articles "
                         "WHERE source_id != 'seed'")
    assert [(source, state) for _, source, state, _ in rows] == [("pacific-wire", "done")]
    (archived, _, _, chars), = rows
    assert chars > 200  # the page's text, from whichever fetch came first
    keys = {k for k, in query(config, "SELECT key FROM item_keys WHERE article_id = ?",
                                archived)}
    assert f"url:{site.url('/go/abc')[len('http://'):]}" in keys
    assert len(site.hits(path)) == 2  # both links were followed: the order was as meant
    code, _, err = cli("--config", str(config), "run", "--once")  # seen again: nothing new
    assert code == 0, err
    assert query(config, "SELECT count(*) FROM articles WHERE source_id != 'seed'") == [(1,)]


def test_an_aggregators_links_first_then_the_outlets_own_are_the_same_articles(
        site, tmp_path, cli, slack, token, database_url):
    """A redirect and an AMP page (its canonical names the outlet's page) are archived under
    their pages' URLs, which the outlet's own feed, added a poll later, links directly."""
    outlet = serve_outlet(site, "pacific-wire", [FUSION_DEAL[0], OTHER_FUSION_DEAL], 6)
    pages = [site.url(f"/pacific-wire/{k}.html") for k in (0, 1)]
    amp = page(*OTHER_FUSION_DEAL).replace(
        b"</head>", f'<link rel="canonical" href="{pages[1]}"></head>'.encode())
    site.route("/amp/1.html", Reply(body=amp, headers={"Content-Type": "text/html"}))
    site.route("/go/abc", Reply(302, headers={"Location": "/pacific-wire/0.html?utm_source=a"}))
    agg = serve_aggregator(site, [("Fusion pact", "/go/abc", ""),
                                  ("Kyoto fusion (AMP)", "/amp/1.html", "")], "Sun, 22 Nov 2026")
    config = write_config(tmp_path, [agg], extra=SLACK, database=database_url)
    assert cli("--config", str(config), "run", "--once")[0] == 0
    assert sorted(u for u, in query(config, "SELECT canonical_url FROM articles "
                                             "WHERE source_id = 'agg'")) == pages
    alerts = [json.dumps(p["blocks"]) for p in slack.posts("C0ALERTS")]
    assert len(alerts) == 2 and all("/go/abc" not in a and "/amp/" not in a for a in alerts)
    config = write_config(tmp_path, [agg, outlet], extra=SLACK, database=database_url)
    assert cli("--config", str(config), "run", "--once")[0] == 0
    assert query(config, "SELECT count(*) FROM articles WHERE source_id != 'seed'") == [(2,)]
    assert len(slack.posts("C0ALERTS")) == 2  # no new alert, no "also reported by" itself


def test_a_canonical_naming_another_sites_page_is_only_a_claim(site, tmp_path, cli, database_url):
    """A broken template on another site names an archived article as every page's canonical:
    its own story stays its own (its words decide, as for any other outlet)."""
    serve_news_site(site)
    en03 = next(a for a in MANIFEST["articles"] if a["name"] == "en-03")
    other = next(a for a in MANIFEST["articles"] if a["name"] == "en-01")
    elsewhere = Site().start()  # another site: another port
    try:
        page = site.fixture(other["path"].lstrip("/")).decode().replace("{BASE}", site.base)
        page = re.sub(r'<link rel="canonical"[^>]*>|<meta property="og:url"[^>]*>', "", page)
        page = page.replace("</head>", f'<link rel="canonical" href="{site.url(en03["path"])}">'
                                       "</head>")
        elsewhere.route("/page.html", Reply(body=page.encode(),
                                            headers={"Content-Type": "text/html"}))
        elsewhere.route("/feed.xml", Reply(
            body=(f'<rss version="2.0"><channel><title>Elsewhere</title><item><title>Report'
                  f'</title><link>{elsewhere.url("/page.html")}</link><pubDate>Wed, 18 Nov 2026 '
                  f"09:00:00 GMT</pubDate></item></channel></rss>").encode(),
            headers={"Content-Type": "text/xml"}))
        feeds = news_sources(site, ["en-rss2.xml"])
        config = write_config(tmp_path, feeds, database=database_url)
        assert cli("--config", str(config), "run", "--once")[0] == 0
        config = write_config(tmp_path, feeds + [{"id": "elsewhere", "name": "Elsewhere",
                                                  "url": elsewhere.url("/feed.xml")}], database=database_url)
        assert cli("--config", str(config), "run", "--once")[0] == 0
    finally:
        elsewhere.stop()
    story = dict(query(config, "SELECT url, coalesce(story_id, id) FROM articles"))
    assert elsewhere.url("/page.html") in story  # kept: its own article
    assert story[elsewhere.url("/page.html")] != story[site.url(en03["path"])]
    assert story[elsewhere.url("/page.html")] == story[site.url(other["path"])]  # its copy


def test_an_outlet_is_the_pages_publisher_when_a_feed_links_to_another_site():
    from types import SimpleNamespace

    from bot.store.rows import outlet

    row = dict(publisher=None, site_name="Pacific Business Journal", source_id="ttd",
               url="https://pbj.example/news/a.html?utm_source=twitter",
               source_url="https://www.ttd.example/feed.xml", source_name="Tokyo Tech Daily")
    assert outlet(SimpleNamespace(**row)) == "Pacific Business Journal"
    own_page = {**row, "url": "https://ttd.example/news/b.html", "site_name": "TTD"}
    assert outlet(SimpleNamespace(**own_page)) == "Tokyo Tech Daily"  # the configured name
    assert outlet(SimpleNamespace(**{**row, "publisher": "Kyodo"})) == "Kyodo"  # the feed's word
    assert outlet(SimpleNamespace(**{**row, "site_name": None})) == "Tokyo Tech Daily"


def roundup_and_its_deals() -> list[tuple[str, str]]:
    """A morning briefing (first in) with the opening of two different deals' reports, then
    the two reports."""
    (deal, deal_text), (other, other_text) = FUSION_DEAL[0], OTHER_FUSION_DEAL
    briefing = (f"Asia tech briefing: {deal}; {other}",
                f"Good morning. Here is today's briefing.\n{deal_text[:400]}\n"
                f"{other_text[:400]}\nSubscribe to our newsletter for more.")
    return [briefing, FUSION_DEAL[0], OTHER_FUSION_DEAL]


def test_a_roundup_first_in_does_not_make_two_deals_one_story(tmp_path, database_url):
    """Each deal's report is like the briefing; the second shares no names with the first,
    which the story already holds: a story of its own (in the archive and in `eval`)."""
    from bot.models import Classification
    from bot.store import open_archive

    texts = roundup_and_its_deals()
    rows = [{"id": f"i{k}", "title": t, "text": x, "published": f"2026-11-{19 + (k > 0)}"}
            for k, (t, x) in enumerate(texts)]
    found = group(rows, StorySettings())
    assert found["i0"] == found["i1"] != found["i2"]
    archive = open_archive(database_url)
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    for seed in sorted((ROOT / "seeds").glob("*.txt")):  # a new archive's first IDF, as in use
        archive.add_seed(seed.stem, seed.stem, seed.read_text(encoding="utf-8"),
                         Classification(True, 1.0, (), {}), now)
    stories = group_in_archive(archive, [(title, text, DAY) for title, text in texts], now)
    archive.close()
    assert stories[0] == stories[1] != stories[2]


def group_in_archive(archive, reports: list[tuple[str, str, date | None]], now: datetime,
                     glossary: Glossary | None = None) -> list[int]:
    """Each report archived and grouped in turn, as the pipeline does: their story ids."""
    import sqlalchemy as sa

    from bot.store.schema import articles
    from bot.stories import signature

    stories = []
    for k, (title, text, day) in enumerate(reports):
        with archive.engine.begin() as db:
            article_id = db.execute(sa.insert(articles).values(
                source_id="s", url=f"https://s.example/{k}", canonical_url=f"https://s.example/{k}",
                title=title, summary="", text=text, first_seen=now, state="done",
                fetch_fulltext=False, attempts=1)).inserted_primary_key[0]
        stories.append(archive.assign_story(article_id, signature(f"{title}\n{text}"),
                                            story_terms(title, text, day, glossary),
                                            rules=StorySettings(), now=now))
    return stories


def test_a_copy_published_a_window_apart_is_another_story(tmp_path, database_url):
    """Last month's press release, republished today (or found late by a backfill): its text
    is the same, its news is not; in the archive as in `eval`."""
    from bot.store import open_archive

    title, text = FUSION_DEAL[0]
    rows = [{"id": "old", "title": title, "text": text, "published": "2026-10-20"},
            {"id": "new", "title": title, "text": text, "published": "2026-11-20"},
            {"id": "copy", "title": title, "text": text, "published": "2026-11-21"}]
    found = group(rows, StorySettings())
    assert found["old"] != found["new"] == found["copy"]
    archive = open_archive(database_url)
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)  # all first seen within the window
    days = (date(2026, 10, 20), date(2026, 11, 20), date(2026, 11, 21))
    stories = group_in_archive(archive, [(title, text, day) for day in days], now)
    archive.close()
    assert stories[0] != stories[1] == stories[2]


def test_a_thread_never_announces_an_outlet_it_already_named(site, tmp_path, cli, slack, token, database_url):
    """An aggregator's copy credited to the lead's own outlet (its <source>), and a second
    outlet's two copies: one reply, for the second outlet, once."""
    outlet = serve_outlet(site, "pacific-wire", [FUSION_DEAL[0]], 6)
    title, text = FUSION_DEAL[0]
    items = []
    for k, (credit, home) in enumerate([("Pacific Wire", "pacific-wire"),
                                        ("Energy Daily", "energy-daily"),
                                        ("Energy Daily", "energy-daily")]):
        site.route(f"/agg/{k}.html", Reply(body=page(f"{title} ({k})", text),
                                           headers={"Content-Type": "text/html"}))
        items.append((f"{title} ({k}) - {credit}", f"/agg/{k}.html",  # the aggregator's suffix
                      f'<source url="{site.url(f"/{home}/")}">{credit}</source>'))
    agg = serve_aggregator(site, items, "Sun, 22 Nov 2026")
    config = write_config(tmp_path, [outlet], extra=SLACK, database=database_url)
    assert cli("--config", str(config), "run", "--once")[0] == 0
    (alert,) = slack.posts("C0ALERTS")
    config = write_config(tmp_path, [outlet, agg], extra=SLACK, database=database_url)
    assert cli("--config", str(config), "run", "--once")[0] == 0
    assert query(config, "SELECT count(DISTINCT coalesce(story_id, id)) FROM articles "
                         "WHERE source_id != 'seed'") == [(1,)]  # all copies: one story
    replies = [json.dumps(p["blocks"]) for p in slack.posts("C0ALERTS")[1:]]
    assert len(replies) == 1 and "Energy Daily" in replies[0], replies
    assert "(1) - Energy Daily" not in replies[0]  # its title without the aggregator's suffix
    assert all(p["thread_ts"] == alert["ts"] for p in slack.posts("C0ALERTS")[1:])
