"""Relevance and topics from the taxonomy's terms: a transparent, explainable model.

Relevance needs both countries acting together on technology. The score is a logistic function
of a few evidence counts: bilateral phrases ("U.S.-Japan", "日米"), both sides named (countries,
officials or organisations), cooperation cues, technology terms, against non-tech US–Japan cues
(tariffs, bases) and third countries taking the partner's place. Counts are log-damped so a
long text does not win by length, and scaled up for a short one (a feed summary). Every
decision carries the terms and actors that drove it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from bot.cjk import written_in_japanese
from bot.classify.taxonomy import Taxonomy, prepare
from bot.models import Classification

TITLE_WEIGHT = 2  # a term in the headline counts as much as two in the body
MAX_EVIDENCE = 6
FIELDS_IN_A_LIST = 5  # technology fields named in one text that make it a list of fields
REFERENCE_LENGTH = 1000  # a shorter text's counts are scaled up to this many characters
SHORT_TEXT = 600  # characters: a feed summary, whose one sentence may be all it says


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


class Classifier:
    def __init__(self, taxonomy: Taxonomy, threshold: float = 0.5) -> None:
        self.taxonomy = taxonomy
        self.threshold = threshold

    def classify(self, title: str, text: str, lang: str | None = None) -> Classification:
        hits, places = self.hits(title, text)
        topic_hits = {tid: hits[tid] for tid in self.taxonomy.ids}
        topics = pick_topics(topic_hits, places, len(title) + len(text), self.taxonomy.fields)
        signals = measure(hits, topic_hits, topics, japanese(title + text, lang),
                          len(title) + len(text))
        score = relevance_score(signals)
        return Classification(
            relevant=score >= self.threshold, score=round(score, 3), topics=topics,
            evidence={tid: _top(topic_hits[tid]) for tid in topics},
            actors={side: _top(hits[side] + hits[f"{side}_entities"])
                    for side in ("us", "japan") if hits[side] or hits[f"{side}_entities"]},
            cues=_top(hits["bilateral"] + hits["cooperation"]))

    def hits(self, title: str, text: str) -> tuple[dict[str, Counter[str]], dict[str, int]]:
        """Matched terms per list, and in how many places each list matched (sentences of the
        text, counted up to 2; the headline counts TITLE_WEIGHT times in both)."""
        lexicon = self.taxonomy.lexicon
        hits, sentences = lexicon.locate_prepared(*prepare(text), self.taxonomy.ids)
        places = dict.fromkeys(hits, 0) | sentences
        for name, counts in lexicon.count_prepared(*prepare(title)).items():
            if counts:
                places[name] += TITLE_WEIGHT
            for term, n in counts.items():
                hits[name][term] += n * TITLE_WEIGHT
        return hits, places


def measure(hits: dict[str, Counter[str]], topic_hits: dict[str, Counter[str]],
            topics: tuple[str, ...], japanese_text: bool, length: int) -> Signals:
    def total(*names: str) -> int:
        return sum(sum(hits[n].values()) for n in names if n in hits)

    return Signals(
        us=total("us", "us_entities"), japan=total("japan", "japan_entities"),
        bilateral=total("bilateral"), cooperation=len(hits["cooperation"]),
        tech_terms=sum(len(h) for h in topic_hits.values()), topics=len(topics),
        off_topic=total("off_topic"), third=total("third_countries"),
        japanese_text=japanese_text, length=length)


def relevance_score(s: Signals) -> float:
    """A logistic score in [0, 1] (weights set by hand; see the module docstring)."""
    # A Japanese outlet takes Japan for granted: its own government is "政府".
    japan = max(s.japan, 1) if s.japanese_text else s.japan
    both = min(s.us, japan)
    # A short text (a feed summary) says the same in fewer words: its counts are scaled up to
    # those of a text of REFERENCE_LENGTH characters.
    scale = max(1.0, REFERENCE_LENGTH / max(s.length, 1))

    def damped(count: int) -> float:
        return math.log1p(count * scale)

    z = (-4.8 + 1.4 * damped(s.bilateral) + 0.9 * damped(both) + 0.7 * damped(s.cooperation)
         + 1.2 * damped(s.tech_terms) - 0.9 * damped(s.off_topic)
         - 0.8 * damped(max(0, s.third - both)))
    if not (s.bilateral or both):
        z -= 3.0  # one country alone is not cooperation
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

