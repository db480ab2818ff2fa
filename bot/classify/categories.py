"""The labeling guide's categories (pure): which kind of US–Japan technology cooperation a text
reports, or which kind of non-cooperation it is.

The relevance score counts evidence over the whole text; the guide defines relevance by what the
two sides do together, which shows in single sentences: "Micron will invest $3.6 billion in
Hiroshima" (a company of one side, a place of the other, money), "Japan tightened chip-equipment
exports in step with Washington" (Japan acting, export controls, the US). A category holds when
its parts meet in one sentence (the headline is a sentence) that is the text's subject: the
headline, the lead, or two sentences or more; a background clause ("Rapidus, IBM's partner,
...") is not. A matched TRUE category raises the score by its weight; the evidence names it.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

TITLE = -1  # the headline's sentence number
CROWDED = "crowded"  # not a list of the taxonomy: sentences naming several other countries
LEAD_SENTENCES = 3  # sentences 0..2 of the text: the lead, where a report states its subject

US = ("us", "us_entities", "us_places", "bilateral")
JAPAN = ("japan", "japan_entities", "japan_places", "bilateral")
US_GOVERNMENT = ("us",)
JAPAN_GOVERNMENT = ("japan",)
ORGANISATIONS = ("us_entities", "japan_entities", "us_places", "japan_places", "organisations")
# The guide's TRUE categories in the order they are tried (the most specific first: a partnership
# is often signed as an agreement), with how much each raises the relevance score's logit.
TRUE_CATEGORIES = {
    "export_controls": 2.5, "framework": 2.2, "agreement": 0.8, "joint_research": 2.2,
    "partnership": 2.5, "investment": 2.5,
}
# The guide's FALSE categories: why a text that names the pair is not cooperation.
FALSE_CATEGORIES = ("one_side", "non_tech", "in_passing", "customer")
# How much the guide's FALSE patterns lower the relevance score's logit, where no TRUE category
# was found: a sale between the two sides with no working together; one side named only past
# the lead (as good as absent); the US acting with another country in the pair's place.
CUSTOMER_PENALTY, PASSING_PENALTY, DISPLACED_PENALTY = 2.5, 4.0, 3.0
# "$3.6 billion", "US$500m", "200 billion yen", "1,000億円", "36億ドル": a sizeable sum.
MONEY = re.compile(
    r"(?:US\$|\$|¥|€|JPY|USD)\s?\d[\d.,]*\s?(?:billion|million|trillion|bn|mn|[bm]\b)"
    r"|\d[\d.,]*\s?(?:billion|trillion|million)\s(?:yen|dollars|euros)"
    r"|\d[\d,.]*\s?(?:兆|億)(?:[\d,.]*万)?\s?(?:円|ドル|ユーロ)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Implied:
    """The topic a category covers (the guide: industrial investment is supply_chain, a joint
    research programme is research, coordinated controls are export_controls), and the cue list
    that must be in the category's sentences: money into a company's shares, without a site, is
    not industrial investment."""

    topic: str
    cue: str  # also the evidence when the topic's own terms are absent


IMPLIED_TOPICS = {"investment": Implied("supply_chain", "sites"),
                  "joint_research": Implied("research", "research"),
                  "export_controls": Implied("export_controls", "export_controls")}


@dataclass(frozen=True, slots=True)
class Located:
    """What the lexicon found in one text and in which sentences (TITLE for the headline)."""

    hits: Mapping[str, Counter[str]]
    sentences: Mapping[str, frozenset[int]]
    fields: frozenset[str]  # technology-field topic ids with any term
    topic_ids: tuple[str, ...]  # every topic of the taxonomy
    money: bool
    japanese_text: bool
    short: bool  # a feed summary: one mention may be all it says
    sentence_count: int  # of the text, the headline apart

    def count(self, *lists: str) -> int:
        return sum(sum(self.hits[n].values()) for n in lists if n in self.hits)

    def where(self, *lists: str) -> frozenset[int]:
        return frozenset().union(*(self.sentences.get(n, frozenset()) for n in lists))

    def meet(self, *groups: Sequence[str]) -> frozenset[int]:
        """The sentences where a term of every group occurs."""
        found = self.where(*groups[0])
        for group in groups[1:]:
            found &= self.where(*group)
        return found


def locate(where: Mapping[str, list[int]], ends: list[int], title_lists: Iterable[str],
           ) -> dict[str, frozenset[int]]:
    """Match positions (from Lexicon.locate_prepared) as sentence numbers; besides the lists,
    CROWDED: the sentences naming two other countries or more (a list, a multilateral setting)."""
    sentences = {name: frozenset(bisect.bisect_left(ends, at) for at in positions)
                 for name, positions in where.items()}
    others = Counter(bisect.bisect_left(ends, at) for at in where.get("third_countries", ()))
    sentences[CROWDED] = frozenset(s for s, n in others.items() if n >= 2)
    for name in title_lists:
        sentences[name] = sentences.get(name, frozenset()) | {TITLE}
    return sentences


def the_subject(sentences: frozenset[int]) -> bool:
    """The headline, the lead, or a paragraph's worth (two sentences): not a passing clause."""
    return any(s < LEAD_SENTENCES for s in sentences) or len(sentences) >= 2


def categorize(t: Located) -> str | None:
    """The first TRUE category of the guide the text reports, or None. The text must name a
    technology, and the category's sentences no non-tech matter (a tariff deal is not
    cooperation on chips); each side must be named twice (once is in passing) unless the text
    is short or it reports Japan's export controls in step with Washington's, where the US may
    be named once."""
    tech = bool(t.fields) or t.count("export_controls") >= 2
    if not tech or not _both_sides(t):
        return None
    twice = t.short or _both_sides(t, 2)
    off_topic = t.where("off_topic")
    for name in TRUE_CATEGORIES:
        if (twice or name == "export_controls") and the_subject(_TESTS[name](t) - off_topic):
            return name
    return None


def implied_topic(t: Located, category: str | None) -> Implied | None:
    """The topic `category` covers, when its cue is in the sentences that made the category."""
    implied = IMPLIED_TOPICS.get(category or "")
    return implied if implied and _TESTS[category](t) & t.where(implied.cue) else None


def in_passing(t: Located) -> bool:
    """One side is named only past the headline and lead, in a sentence or two, of a text of
    several: a comparison or a background clause ("rivals such as IBM and Google"), not a
    party."""
    sides = (t.where(*US), t.where(*JAPAN))
    return t.sentence_count > LEAD_SENTENCES and any(
        0 < len(side) <= 2 and min(side) >= LEAD_SENTENCES for side in sides)


def penalty(t: Located) -> float:
    """The FALSE patterns of the guide found in a text that matched no TRUE category."""
    return (CUSTOMER_PENALTY * a_sale(t) + PASSING_PENALTY * in_passing(t)
            + DISPLACED_PENALTY * displaced(t))


def displaced(t: Located) -> bool:
    """Other countries work together in the text's subject ("South Korea and the US sign an AI
    pact; Japanese makers wary", "Korea and the UK to research 6G; the US and Japan race too"),
    and no sentence joins the pair without them."""
    others = t.where("third_countries") - t.where("trilateral")
    return the_subject(t.meet(("third_countries",), ("cooperation", "partnership"))) and not (
        t.meet(US, JAPAN, ("cooperation",)) - others)


def a_sale(t: Located) -> bool:
    """The pair meet as seller and buyer in the text's subject, not as partners."""
    sale = t.meet(US, JAPAN, ("customer",), ORGANISATIONS)
    return the_subject(sale - t.where("partnership", "cooperation"))


def why_not(t: Located) -> str:
    """The guide's FALSE category that fits a text judged not relevant."""
    if not _both_sides(t):
        return "one_side"
    if a_sale(t):
        return "customer"
    tech = t.count(*t.fields) + t.count("export_controls")
    if not tech or t.count("off_topic") >= tech:
        return "non_tech"
    weak = in_passing(t) or displaced(t) or not (t.short or _both_sides(t, 2))
    others = t.count("third_countries") > min(t.count(*US), t.count(*JAPAN))
    return "in_passing" if weak or others else "one_side"


def _both_sides(t: Located, times: int = 1) -> bool:
    japan = t.count(*JAPAN) >= times or t.japanese_text and t.count(*JAPAN) > 0
    return t.count("bilateral") >= times or (t.count(*US) >= times and japan)


NOWHERE: frozenset[int] = frozenset()


def _export_controls(t: Located) -> frozenset[int]:
    """Japan restricting exports in step with the US: Japan acts on export controls, the US is
    named with them or an alignment cue says so, and they are the subject of two sentences or
    more (one clause on "U.S.-led export curbs" in a Japan–Netherlands deal is background).
    The countries named beside them are the controls' targets, not partners."""
    controls = t.where("export_controls")
    if len(controls) < 2 or not t.count(*US_GOVERNMENT, "bilateral"):
        return NOWHERE
    japan = JAPAN_GOVERNMENT if not t.japanese_text else (*JAPAN_GOVERNMENT, "export_controls")
    acts = t.meet(japan, ("export_controls",))
    together = t.meet(("export_controls",), ("bilateral", *US_GOVERNMENT)) or t.where("alignment")
    return acts if together else NOWHERE


def _investment(t: Located) -> frozenset[int]:
    """One side's company puts money into a site in the other's country."""
    if not (t.money or t.count("investment") >= 3):
        return NOWHERE
    a = t.meet(("us_entities", "us_places"), JAPAN, ("investment", "sites"))
    b = t.meet(("japan_entities", "japan_places"), US, ("investment", "sites"))
    return _not_a_list(t, a | b) - t.where("customer")  # buying the other's chips is a sale


def _framework(t: Located) -> frozenset[int]:
    """The pair and a third country in one framework, with the trilateral cue; or the pair
    named as one ("日米", "the US and Japan") working with or for a third country."""
    trilateral = t.meet(US, JAPAN, ("trilateral", "third_countries"), ("cooperation", "trilateral"))
    pair = t.meet(("bilateral",), ("third_countries",), ("cooperation", "partnership"))
    return ((trilateral if t.where("trilateral") else NOWHERE) | pair) - t.where(CROWDED)


def _partnership(t: Located) -> frozenset[int]:
    """Organisations of both sides working together (a company, a university, an agency)."""
    return _not_a_list(t, t.meet(US, JAPAN, ("partnership",)) & t.where(*ORGANISATIONS))


def _joint_research(t: Located) -> frozenset[int]:
    """Universities, institutes or a research programme of both sides working together."""
    return _not_a_list(t, t.meet(US, JAPAN, ("academia",), ("cooperation", "partnership")))


def _agreement(t: Located) -> frozenset[int]:
    """The two governments agree on a technology (no organisation in the sentence: that is a
    partnership; governments agree on rice and troops too)."""
    found = t.meet(("bilateral",), ("cooperation",)) | t.meet(
        US_GOVERNMENT, JAPAN_GOVERNMENT, ("cooperation",))
    return _not_a_list(t, found - t.where(*ORGANISATIONS)) & t.where(*t.topic_ids)


def _not_a_list(t: Located, sentences: frozenset[int]) -> frozenset[int]:
    """Those of `sentences` that do not also name other countries without a trilateral cue:
    there Japan is one in a list."""
    return sentences - (t.where("third_countries") - t.where("trilateral"))


_TESTS: dict[str, Callable[[Located], frozenset[int]]] = {
    "export_controls": _export_controls, "framework": _framework, "agreement": _agreement,
    "joint_research": _joint_research, "partnership": _partnership, "investment": _investment}
