"""Scores of the classifier on labeled JSON Lines (the corpus format): pure, so it is testable
with literals; `techwatch eval` prints it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.classify.classifier import Classifier


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    f1: float
    support: int  # labeled positives

    @classmethod
    def of(cls, tp: int, fp: int, fn: int) -> Scores:
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(round(precision, 4), round(recall, 4), round(f1, 4), tp + fn)

    def as_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "support": self.support}


@dataclass(frozen=True, slots=True)
class Miss:
    id: str
    kind: str  # "false positive", "false negative", "topics"
    score: float
    title: str
    expected: tuple[str, ...]
    predicted: tuple[str, ...]
    evidence: dict[str, tuple[str, ...]]
    actors: dict[str, tuple[str, ...]]
    category: str | None = None


@dataclass
class Report:
    items: int = 0
    skipped_borderline: int = 0
    relevance: Scores | None = None
    topics: dict[str, Scores] = field(default_factory=dict)
    topic_micro: Scores | None = None
    topic_macro_f1: float = 0.0
    by_language: dict[str, tuple[int, Scores]] = field(default_factory=dict)  # items, scores
    misses: list[Miss] = field(default_factory=list)
    # the guide's category the classifier named -> [items, of which labeled relevant]
    categories: dict[str, list[int]] = field(default_factory=dict)
    unknown_topics: set[str] = field(default_factory=set)  # labels the taxonomy lacks: missed

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items, "skipped_borderline": self.skipped_borderline,
            "relevance": self.relevance.as_dict() if self.relevance else None,
            "topics": {t: s.as_dict() for t, s in self.topics.items()},
            "topic_micro": self.topic_micro.as_dict() if self.topic_micro else None,
            "topic_macro_f1": self.topic_macro_f1,
            "by_language": {lang: {"items": n, **s.as_dict()}
                            for lang, (n, s) in self.by_language.items()},
            "categories": {c: {"items": n, "labeled_relevant": r}
                           for c, (n, r) in sorted(self.categories.items())},
            "misclassified": [{"id": m.id, "kind": m.kind, "score": m.score, "title": m.title,
                               "expected": list(m.expected), "predicted": list(m.predicted),
                               "category": m.category,
                               "evidence": {k: list(v) for k, v in m.evidence.items()},
                               "actors": {k: list(v) for k, v in m.actors.items()}}
                              for m in self.misses]}


def evaluate(rows: Iterable[Mapping[str, Any]], classifier: Classifier) -> Report:
    """Relevance on every non-borderline item; topics on the items labeled relevant."""
    report = Report()
    per_lang: dict[str, list[int]] = {}
    counts = {"rel": [0, 0, 0], "micro": [0, 0, 0]}
    topic_counts = {t: [0, 0, 0] for t in classifier.taxonomy.ids}
    for row in rows:
        if row.get("borderline"):
            report.skipped_borderline += 1
            continue
        report.items += 1
        result = classifier.classify(row.get("title") or "", row.get("text") or "",
                                     row.get("lang"))
        truth = bool(row.get("relevant"))
        named = report.categories.setdefault(result.category or "none", [0, 0])
        named[0] += 1
        named[1] += truth
        outcome = _tally(counts["rel"], truth, result.relevant)
        lang = per_lang.setdefault(row.get("lang") or "unknown", [0, 0, 0, 0])
        _tally(lang, truth, result.relevant)
        lang[3] += 1
        if outcome:
            report.misses.append(_miss(row, outcome, result, (), ()))
        if not truth:
            continue
        expected, predicted = set(row.get("topics") or ()), set(result.topics)
        for topic, tally in topic_counts.items():
            _tally(tally, topic in expected, topic in predicted)
            _tally(counts["micro"], topic in expected, topic in predicted)
        for topic in expected - topic_counts.keys():  # a label no prediction can match
            report.unknown_topics.add(topic)
            _tally(counts["micro"], True, False)
        if expected != predicted and not outcome:
            report.misses.append(_miss(row, "topics", result, tuple(sorted(expected)),
                                       tuple(sorted(predicted))))
    report.relevance = Scores.of(*counts["rel"])
    report.topics = {t: Scores.of(*c) for t, c in topic_counts.items()}
    report.topic_micro = Scores.of(*counts["micro"])
    supported = [s.f1 for s in report.topics.values() if s.support]
    report.topic_macro_f1 = round(sum(supported) / len(supported), 4) if supported else 0.0
    report.by_language = {lang: (c[3], Scores.of(*c[:3])) for lang, c in sorted(per_lang.items())}
    return report


def _tally(tally: list[int], truth: bool, predicted: bool) -> str:
    """Add one decision to [tp, fp, fn]; returns the kind of error, or ""."""
    if truth and predicted:
        tally[0] += 1
    elif predicted:
        tally[1] += 1
        return "false positive"
    elif truth:
        tally[2] += 1
        return "false negative"
    return ""


def _miss(row: Mapping[str, Any], kind: str, result, expected, predicted) -> Miss:
    return Miss(str(row.get("id")), kind, result.score, (row.get("title") or "")[:100],
                expected, predicted, result.evidence, result.actors, result.category)


def render_report(report: Report) -> str:
    """The report as plain text for a terminal or a closing note."""
    r = report.relevance
    lines = [f"Relevance ({report.items} items, {report.skipped_borderline} borderline skipped): "
             f"precision {r.precision:.3f}  recall {r.recall:.3f}  F1 {r.f1:.3f}  "
             f"(support {r.support})", "By language:"]
    for lang, (items, s) in report.by_language.items():
        lines.append(f"  {lang:8} {items:4} items  precision {s.precision:.3f}  recall "
                     f"{s.recall:.3f}  F1 {s.f1:.3f}  (support {s.support})")
    lines += ["Topics (on the items labeled relevant):",
              f"  {'topic':18} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}"]
    for topic, s in report.topics.items():
        lines.append(f"  {topic:18} {s.precision:9.3f} {s.recall:7.3f} {s.f1:6.3f} {s.support:8}")
    m = report.topic_micro
    lines.append(f"  {'micro':18} {m.precision:9.3f} {m.recall:7.3f} {m.f1:6.3f} {m.support:8}")
    lines.append(f"  {'macro F1':18} {'':9} {'':7} {report.topic_macro_f1:6.3f}")
    lines.append("Categories of the labeling guide the classifier named (items, labeled relevant):")
    lines += [f"  {name:18} {n:4} {r:4}" for name, (n, r) in sorted(report.categories.items())]
    lines.append(f"Misclassified ({len(report.misses)}):")
    for miss in report.misses:
        detail = (f"expected {', '.join(miss.expected) or '-'}; got "
                  f"{', '.join(miss.predicted) or '-'}") if miss.kind == "topics" else ""
        lines.append(f"  {miss.id}  {miss.kind}  score {miss.score:.2f}  "
                     f"[{miss.category or '-'}]  {miss.title}")
        if detail:
            lines.append(f"      {detail}")
        why = [f"{side}: {', '.join(terms)}" for side, terms in miss.actors.items()]
        why += [f"{topic}: {', '.join(terms)}" for topic, terms in miss.evidence.items()]
        lines.append(f"      evidence: {'; '.join(why) or 'none'}")
    return "\n".join(lines)
