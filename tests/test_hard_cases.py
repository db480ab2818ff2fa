"""The hard cases of the labeling guide, on texts written for these tests."""

import pytest
from test_classify import CLASSIFIER

CASES = [
    # (name, title, text, relevant, topics that must be among the result's)
    ("joint chip venture", "US chip designer and Japanese foundry form 2nm venture",
     "A US chip designer and a Japanese foundry agreed on Tuesday to co-develop 2nm "
     "semiconductors at a new pilot line in Hokkaido. The partnership pools engineers from both "
     "companies, and Japan's industry ministry will subsidise the fab. The chips are due in 2028.",
     True, {"semiconductors"}),
    ("artemis", "NASA and JAXA sign lunar rover agreement",
     "NASA and the Japan Aerospace Exploration Agency signed an agreement under which Japan "
     "will provide a pressurized lunar rover for the Artemis program, and a Japanese astronaut "
     "will land on the Moon. The United States and Japan called it a milestone in space "
     "cooperation.", True, {"space"}),
    ("aligned export controls", "Japan aligns chip-tool export curbs with Washington",
     "Japan will require export licences for 23 types of advanced chipmaking equipment, "
     "aligning its export controls with rules the United States introduced last year. Tokyo "
     "coordinated the move with Washington after months of talks on semiconductor technology.",
     True, {"export_controls", "semiconductors"}),
    ("japanese quantum", "日米、量子コンピューターで共同研究 研究者交流も",
     "日米両政府は量子コンピューターの共同研究で協力する覚書に署名した。米国の国立研究所と日本の"
     "理化学研究所が量子技術の研究者を相互に派遣し、量子暗号通信の実証も進める。",
     True, {"quantum"}),
    ("list of fields", "US and Japan sign science and technology memorandum",
     "The United States and Japan signed a memorandum of cooperation covering artificial "
     "intelligence, quantum computing, fusion energy, space exploration, biotechnology and 6G "
     "telecommunications, the two governments said.", True,
     {"ai", "quantum", "energy", "space", "biotech", "telecom"}),
    ("ai governance framework", "US and Japan to write common rules for AI",
     "The United States and Japan will jointly develop an AI policy framework for trustworthy "
     "systems, officials from both governments said in Tokyo. The two countries' AI safety "
     "institutes will also align their testing and evaluation methods, so a model checked in "
     "one country is accepted in the other.", True, {"ai", "standards"}),
    ("日本語のAI政策枠組み", "日米、AIの政策枠組みで連携 評価手法を共通化",
     "日米両政府は、AI政策枠組みの共同策定で合意した。米商務省と日本のAIセーフティ・インスティテュートが"
     "評価手法を共通化し、一方の国で検証したAIモデルを他方でも受け入れる。",
     True, {"ai", "standards"}),
    ("us-china only", "US adds 30 Chinese chip firms to entity list",
     "The US Commerce Department added 30 Chinese companies to its entity list, cutting them off "
     "from American chipmaking tools and AI chips. Beijing condemned the export controls.",
     False, set()),
    ("japan alone", "Japan to give domestic chipmaker 300 billion yen subsidy",
     "Japan's industry ministry will give a domestic chipmaker 300 billion yen to build a 2nm "
     "semiconductor fab in Hokkaido, part of Tokyo's push to rebuild chip production at home.",
     False, set()),
    ("tariffs", "Japan and US agree to cut auto tariffs to 15%",
     "Tokyo and Washington agreed to cut US tariffs on Japanese cars to 15%, and Japan will buy "
     "more American rice and beef, the two governments said after talks in Washington.",
     False, set()),
    ("bases", "US and Japan defence chiefs discuss troops on Okinawa",
     "The US Defense Secretary and Japan's defense minister discussed the relocation of Marines "
     "and host-nation support for US troops in Japan at talks in Tokyo.", False, set()),
    ("passing mention", "Sony ships new camera to US stores",
     "Sony said its new mirrorless camera will go on sale in US stores next month at $1,999, "
     "with a larger image sensor and faster autofocus.", False, set()),
    ("third country deal", "US and South Korea sign AI and 6G deal",
     "The United States and South Korea signed a technology prosperity deal on AI, 6G and "
     "quantum computing in Seoul. Korean officials said the pact mirrors one Washington struck "
     "with Japan last week, and Korean chipmakers will invest in American AI data centres.",
     False, set()),
    ("japanese domestic", "政府、国内半導体工場に補助金 熊本に新工場",
     "経済産業省は国内の半導体工場の建設に最大4000億円を補助すると発表した。熊本県に建設される"
     "新工場で、国内の供給網を強化する狙いがある。", False, set()),
]


@pytest.mark.parametrize(("name", "title", "text", "relevant", "topics"), CASES,
                         ids=[c[0] for c in CASES])
def test_hard_case(name, title, text, relevant, topics):
    result = CLASSIFIER.classify(title, text)
    assert result.relevant == relevant, (result.score, result.actors, result.evidence)
    assert topics <= set(result.topics), result.topics
    if relevant:
        assert result.actors.get("us") and (result.actors.get("japan") or "日米" in title)
        assert all(result.evidence[t] for t in result.topics)


def test_seed_documents_are_all_relevant_with_their_topics():
    from pathlib import Path

    from bot.seeds import read_seeds

    expected = {"000": {"ai", "telecom"}, "001": {"ai", "quantum", "semiconductors"},
                "002": {"ai", "quantum", "research"}, "003": {"semiconductors"},
                "004": {"semiconductors"}}
    seeds = read_seeds(Path(__file__).resolve().parents[1] / "seeds")
    assert len(seeds) == 5
    for seed in seeds:
        result = CLASSIFIER.classify(seed.title, seed.text)
        assert result.relevant and result.score > 0.9, seed.name
        assert expected[seed.name[:3]] <= set(result.topics), (seed.name, result.topics)


FILLER = ("Officials from both governments met in Tokyo for two days of talks. "
          "They agreed to meet again next spring. ") * 6


def test_a_topic_named_in_one_sentence_of_a_long_text_is_a_passing_mention():
    title = "Japan widens chip-tool export curbs in step with Washington"
    passing = ("Japan will require licences for exports of 23 types of chipmaking equipment, "
               "aligning its export controls with those of the United States. " + FILLER +
               "Beijing has said it will curb exports of gallium and germanium, two rare earth "
               "metals used in chips. " + FILLER)
    assert len(passing) > 600
    result = CLASSIFIER.classify(title, passing)
    assert "critical_minerals" not in result.topics and "export_controls" in result.topics
    # the same minerals discussed in a second sentence are a subject of the text
    subject = passing + ("Tokyo and Washington will also stockpile gallium and fund new rare "
                         "earth refining, officials said.")
    assert "critical_minerals" in CLASSIFIER.classify(title, subject).topics
    # a feed summary says it in one sentence: that is enough
    summary = ("Japan and the US will jointly stockpile gallium and germanium and fund rare "
               "earth refining.")
    assert "critical_minerals" in CLASSIFIER.classify("US, Japan team up on minerals",
                                                      summary).topics


def test_an_abbreviation_with_its_expansion_is_one_mention():
    title = "US and Japan sign chip research pact"
    text = ("The United States and Japan signed a pact on 2nm semiconductor research. " + FILLER
            + "Chips for artificial intelligence (AI) may follow. " + FILLER)
    assert "ai" not in CLASSIFIER.classify(title, text).topics
    assert "ai" in CLASSIFIER.classify(title, text + "Both sides see AI demand rising.").topics
