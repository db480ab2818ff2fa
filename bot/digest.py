"""Relevant articles -> a digest: grouped by topic, best first, each with why it matched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.classify import Taxonomy
from bot.models import ArticleView

OTHER = "other"


@dataclass(frozen=True, slots=True)
class DigestSection:
    topic_id: str
    title: str
    articles: tuple[ArticleView, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    since: datetime
    until: datetime
    sections: tuple[DigestSection, ...]

    @property
    def total(self) -> int:
        return sum(len(s.articles) for s in self.sections)


def build_digest(articles: Sequence[ArticleView], taxonomy: Taxonomy, since: datetime,
                 until: datetime) -> Digest:
    """Each article appears once, under its strongest topic; sections follow their best story."""
    groups: dict[str, list[ArticleView]] = {}
    for article in sorted(articles, key=lambda a: (-a.score, a.title)):
        groups.setdefault(article.topics[0] if article.topics else OTHER, []).append(article)
    sections = [DigestSection(tid, taxonomy.name(tid) if tid != OTHER else "Other",
                              tuple(items)) for tid, items in groups.items()]
    sections.sort(key=lambda s: -s.articles[0].score)
    return Digest(since, until, tuple(sections))


def why(article: ArticleView, limit: int = 4) -> str:
    """A short explanation from the classifier's evidence: who (each side's actors), what (the
    topic terms), and the cooperation cues."""
    sides = (("us", "US"), ("japan", "Japan"))
    parts = [f"{label}: {', '.join(article.actors[side][:3])}"
             for side, label in sides if article.actors.get(side)]
    parts += [f"{tid}: {', '.join(article.evidence[tid][:limit])}"
              for tid in article.topics[:3] if article.evidence.get(tid)]
    if article.cues:
        parts.append("cues: " + ", ".join(article.cues[:limit]))
    return "; ".join(parts) or "matched the taxonomy"
