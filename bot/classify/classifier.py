"""Relevance and topics from taxonomy terms: a transparent first model.

Relevance needs both countries acting together on technology: the score rises with bilateral
phrases, both countries (or their organisations) being named, cooperation cues and technology
terms, and falls with non-tech US–Japan cues (tariffs, bases). Every decision carries the terms
that drove it.
"""

from __future__ import annotations

import math
from collections import Counter

from bot.classify.taxonomy import Taxonomy, TermMatcher, prepare
from bot.models import Classification

TITLE_WEIGHT = 2  # a term in the headline counts as much as two in the body
MAX_EVIDENCE = 6


class Classifier:
    def __init__(self, taxonomy: Taxonomy, threshold: float = 0.5) -> None:
        self.taxonomy = taxonomy
        self.threshold = threshold

    def classify(self, title: str, text: str) -> Classification:
        title_p, text_p = prepare(title), prepare(text)
        groups = {g: _count(m, title_p, text_p) for g, m in self.taxonomy.relevance.items()}
        topic_hits = {t.id: _count(t.matcher, title_p, text_p) for t in self.taxonomy.topics}
        score = relevance_score(groups, topic_hits)
        topics = pick_topics(topic_hits)
        evidence = {tid: _top(hits) for tid, hits in topic_hits.items() if tid in topics}
        relevance_terms = groups["bilateral"] + groups["cooperation"]
        if relevance_terms:
            evidence["relevance"] = _top(relevance_terms)
        return Classification(relevant=score >= self.threshold, score=round(score, 3),
                              topics=topics, evidence=evidence)



def _count(matcher: TermMatcher, title: tuple[str, str], text: tuple[str, str]) -> Counter[str]:
    counts = matcher.count_prepared(*text)
    for term, n in matcher.count_prepared(*title).items():
        counts[term] += n * TITLE_WEIGHT
    return counts


def relevance_score(groups: dict[str, Counter[str]], topic_hits: dict[str, Counter[str]]) -> float:
    """A logistic score in [0, 1] from evidence counts (log-damped so long texts don't win)."""
    us = sum(groups["us"].values()) + sum(groups["us_entities"].values())
    japan = sum(groups["japan"].values()) + sum(groups["japan_entities"].values())
    bilateral = sum(groups["bilateral"].values())
    coop = len(groups["cooperation"])
    tech = sum(len(h) for h in topic_hits.values())
    off = sum(groups["off_topic"].values())
    z = (-4.8 + 1.4 * math.log1p(bilateral) + 0.9 * math.log1p(min(us, japan))
         + 0.7 * math.log1p(coop) + 1.2 * math.log1p(tech) - 0.9 * math.log1p(off))
    if not (bilateral or (us and japan)):
        z -= 3.0  # one country alone is not cooperation
    if not tech:
        z -= 3.0  # no technology, no relevance
    elif not pick_topics(topic_hits):
        z -= 1.5  # technology only in passing
    return 1.0 / (1.0 + math.exp(-z))


def pick_topics(topic_hits: dict[str, Counter[str]]) -> tuple[str, ...]:
    """Topics the text substantively covers: two distinct terms, or one term used often."""
    strength = {tid: len(h) + 0.25 * sum(h.values()) for tid, h in topic_hits.items() if h}
    chosen = [tid for tid, s in strength.items()
              if len(topic_hits[tid]) >= 2 or sum(topic_hits[tid].values()) >= 3]
    return tuple(sorted(chosen, key=lambda t: -strength[t]))


def _top(hits: Counter[str]) -> tuple[str, ...]:
    return tuple(term for term, _ in hits.most_common(MAX_EVIDENCE))


def worth_fetching(taxonomy: Taxonomy, title: str, summary: str, lang: str = "en") -> bool:
    """Prefilter for firehose feeds: fetch only items whose title or summary names the other
    side. Every relevant story in English names Japan or a Japanese organisation; a Japanese
    outlet takes Japan for granted, so there the US side must be named."""
    text = f"{title}\n{summary}"
    sides = ("us", "us_entities") if lang == "ja" else ("japan", "japan_entities")
    return any(taxonomy.relevance[g].count(text) for g in (*sides, "bilateral"))
