"""Relevance and topics from the taxonomy's terms: a transparent, explainable model.

Relevance needs both countries acting together on technology. The score is a logistic function
of a few evidence counts: bilateral phrases ("U.S.-Japan", "日米"), both sides named (countries,
officials or organisations), cooperation cues, technology terms, against non-tech US–Japan cues
(tariffs, bases) and third countries taking the partner's place. Counts are log-damped so a
long text does not win by length, and scaled up for a short one (a feed summary). The labeling
guide's categories (bot.classify.categories: an investment, a partnership, coordinated export
controls ...) read who does what with whom in one sentence; a matched one raises the score, a
sale or a side named only in passing lowers it. Every decision carries the terms, actors and
category that drove it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from bot.cjk import written_in_japanese
from bot.classify import categories as guide
from bot.classify.taxonomy import Taxonomy, prepare, sentence_ends
from bot.models import Classification

TITLE_WEIGHT = 2  # a term in the headline counts as much as two in the body
MAX_EVIDENCE = 6
FIELDS_IN_A_LIST = 5  # technology fields named in one text that make it a list of fields
REFERENCE_LENGTH = 1000  # a shorter text's counts are scaled up to this many characters
SHORT_TEXT = 600  # characters: a feed summary, whose one sentence may be all it says
# Japanese names an American organisation "米" + its name: 米ジョージア工科大, 米IBM, 米オラクル
# (not 米ドル, the currency). No word list can hold every name, so this is a pattern.
AMERICAN = re.compile(r"米(?!ドル)(?=[\u30a1-\u30fa\u30fcA-Z])")
AMERICAN_TERM = "米…"


@dataclass(frozen=True, slots=True)
class Signals:
    """Evidence counts of one text, the inputs of the relevance score."""

    us: int
    japan: int
    bilateral: int
    cooperation: int
    tech_terms: int
    topics: int
    off_topic: int
    third: int
    japanese_text: bool
    length: int  # characters of title and text
    category: str | None = None  # the guide's TRUE category matched (bot.classify.categories)
    penalty: float = 0.0  # the guide's FALSE patterns found (bot.classify.categories.penalty)


class Classifier:
    def __init__(self, taxonomy: Taxonomy, threshold: float = 0.5) -> None:
        self.taxonomy = taxonomy
        self.threshold = threshold

    def classify(self, title: str, text: str, lang: str | None = None) -> Classification:
        hits, where, sentences = self.hits(title, text)
        places = {name: 1 + (len(where[name]) > 1 or guide.TITLE in where[name])
                  for name in self.taxonomy.ids if where.get(name)}
        topic_hits = {tid: hits[tid] for tid in self.taxonomy.ids}
        length = len(title) + len(text)
        topics = pick_topics(topic_hits, places, length, self.taxonomy.fields)
        japanese_text = japanese(title + text, lang)
        money = bool(guide.MONEY.search(title) or guide.MONEY.search(text))
        located = guide.Located(hits, where, frozenset(t for t in self.taxonomy.fields if hits[t]),
                                self.taxonomy.ids, money, japanese_text, length < SHORT_TEXT,
                                sentences)
        category = guide.categorize(located)
        signals = measure(hits, topic_hits, topics, japanese_text, length, category,
                          0.0 if category else guide.penalty(located))
        score = relevance_score(signals)
        relevant = score >= self.threshold
        evidence = {tid: _top(topic_hits[tid]) for tid in topics}
        implied = guide.implied_topic(located, category)
        if implied and implied.topic in self.taxonomy.ids and implied.topic not in topics:
            topics += (implied.topic,)
            evidence[implied.topic] = _top(topic_hits[implied.topic]) or _top(hits[implied.cue])
        return Classification(
            relevant=relevant, score=round(score, 3), topics=topics, evidence=evidence,
            actors={side: _top(hits[side] + hits[f"{side}_entities"])
                    for side in ("us", "japan") if hits[side] or hits[f"{side}_entities"]},
            cues=_top(hits["bilateral"] + hits["cooperation"]),
            category=(category or "cooperation") if relevant else guide.why_not(located))

    def hits(self, title: str, text: str) -> tuple[dict[str, Counter[str]],
                                                     dict[str, frozenset[int]], int]:
        """Matched terms per list, the sentences each list matched in (TITLE for the headline,
        whose terms count TITLE_WEIGHT times), and how many sentences the text has."""
        lexicon = self.taxonomy.lexicon
        body, folded = prepare(text)
        hits, positions = lexicon.locate_prepared(body, folded)
        for match in AMERICAN.finditer(body):
            hits["us"][AMERICAN_TERM] += 1
            positions.setdefault("us", []).append(match.start())
        _not_japan(body, hits, positions)
        in_title = []
        title_hits = lexicon.count_prepared(*prepare(title))
        if american := len(AMERICAN.findall(title)):
            title_hits["us"][AMERICAN_TERM] += american
        for name, counts in title_hits.items():
            if counts:
                in_title.append(name)
            for term, n in counts.items():
                hits[name][term] += n * TITLE_WEIGHT
        ends = sentence_ends(body)
        return hits, guide.locate(positions, ends, in_title), len(ends) + 1


def _not_japan(body: str, hits: dict[str, Counter[str]], positions: dict[str, list[int]]) -> None:
    """"国内" (the home market) is Japan's in a Japanese report, except in "米国内" (within the
    US), which the substring match also finds."""
    at = positions.get("japan_places", [])
    inside_us = [p for p in at if body.startswith("国内", p) and body[p - 1:p] == "米"]
    for p in inside_us:
        at.remove(p)
        hits["japan_places"]["国内"] -= 1
    if inside_us:
        hits["japan_places"] = +hits["japan_places"]


def measure(hits: dict[str, Counter[str]], topic_hits: dict[str, Counter[str]],
            topics: tuple[str, ...], japanese_text: bool, length: int,
            category: str | None = None, penalty: float = 0.0) -> Signals:
    def total(*names: str) -> int:
        return sum(sum(hits[n].values()) for n in names if n in hits)

    return Signals(
        us=total("us", "us_entities"), japan=total("japan", "japan_entities"),
        bilateral=total("bilateral"), cooperation=len(hits["cooperation"]),
        tech_terms=sum(len(h) for h in topic_hits.values()), topics=len(topics),
        off_topic=total("off_topic"), third=total("third_countries"),
        # a Japanese outlet takes Japan for granted, if it names anything Japanese at all (a
        # Japanese report of US-only news does not)
        japanese_text=japanese_text and bool(total("japan", "japan_entities", "japan_places",
                                                   "bilateral")),
        length=length, category=category, penalty=penalty)


def relevance_score(s: Signals) -> float:
    """A logistic score in [0, 1] (weights set by hand; see the module docstring)."""
    # A Japanese outlet takes Japan for granted: its own government is "政府", its own market
    # "国内".
    japan = max(s.japan, 1) if s.japanese_text else s.japan
    both = min(s.us, japan)
    # A short text (a feed summary) says the same in fewer words: its counts are scaled up to
    # those of a text of REFERENCE_LENGTH characters.
    scale = max(1.0, REFERENCE_LENGTH / max(s.length, 1))

    def damped(count: int) -> float:
        return math.log1p(count * scale)

    z = (-4.8 + 1.4 * damped(s.bilateral) + 0.9 * damped(both) + 0.7 * damped(s.cooperation)
         + 1.2 * damped(s.tech_terms) - 0.9 * damped(s.off_topic)
         - (0 if s.category == "framework" else 0.8) * damped(max(0, s.third - both)))
    if s.category:
        z += guide.TRUE_CATEGORIES[s.category]
    z -= s.penalty
    if not (s.bilateral or both or s.category):
        z -= 3.0  # one country alone is not cooperation (a category found both, by place too)
    if not s.tech_terms:
        z -= 3.0  # no technology, no relevance
    elif not s.topics:
        z -= 1.5  # technology only in passing
    return 1.0 / (1.0 + math.exp(-z))


def pick_topics(topic_hits: dict[str, Counter[str]], places: dict[str, int], length: int,
                fields: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Topics the text substantively covers: two distinct terms; or one specific phrase used
    twice ("export controls ... export controls"); or one term used often (3 times for a
    technology field, 4 for a policy topic). Unless the text is short (a feed summary), this
    must be in two sentences or more: "gallium and germanium, two rare earths" in one sentence
    is a passing mention, and so is "artificial intelligence (AI)". A text that names many
    technology fields (an agreement's list) gets every field it names."""
    strength = {tid: len(h) + 0.25 * sum(h.values()) for tid, h in topic_hits.items() if h}
    listing = sum(1 for tid in strength if tid in fields) >= FIELDS_IN_A_LIST
    need_places = 1 if length < SHORT_TEXT else 2

    def covered(tid: str) -> bool:
        hits = topic_hits[tid]
        if listing and tid in fields:
            return True
        return places[tid] >= need_places and (
            len(hits) >= 2 or sum(hits.values()) >= 3 + (tid not in fields)
            or any(n >= 2 and _is_phrase(term) for term, n in hits.items()))

    return tuple(sorted(filter(covered, strength), key=lambda t: -strength[t]))


def _is_phrase(term: str) -> bool:
    """A specific term: several words, or three or more Japanese characters."""
    body = term.rstrip("*")
    return " " in body or (not body.isascii() and len(body) >= 3)


def japanese(text: str, lang: str | None) -> bool:
    if lang:
        return lang.lower().startswith("ja")
    return written_in_japanese(text)


def worth_fetching(taxonomy: Taxonomy, title: str, summary: str, lang: str = "en") -> bool:
    """Prefilter for firehose feeds: fetch only items whose title or summary names the other
    side. Every relevant story in English names Japan or a Japanese organisation; a Japanese
    outlet takes Japan for granted, so there the US side must be named."""
    hits = taxonomy.lexicon.count(f"{title}\n{summary}")
    sides = ("us", "us_entities") if lang == "ja" else ("japan", "japan_entities")
    return any(hits[g] for g in (*sides, "bilateral"))


def _top(hits: Counter[str]) -> tuple[str, ...]:
    return tuple(term for term, _ in hits.most_common(MAX_EVIDENCE))

