"""`techwatch stats`: relevant articles and distinct stories per topic per ISO week (UTC), the
top sources, and totals; as a table, as JSON, and as a PNG chart. An article belongs to the
week of its publication date (else of its first sighting), so a backfill lands where it belongs.

`compute` is pure (rows and weeks in, numbers out); the query is `bot.store.reports.stats_rows`;
rendering is at the end."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.app import App
from bot.errors import TechwatchError
from bot.notify.terminal import console
from bot.store.reports import stats_rows

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_WEEKS = 520  # ten years: the window's start must stay a real date
TOP_SOURCES = 10
CHART_SIZE = (10, 5)  # inches, at CHART_DPI: a 1000x500 px image
CHART_DPI = 100


class Fact(Protocol):
    """What `compute` reads of an article (a row of `stats_rows`)."""

    date: datetime
    relevant: bool | None
    topics: Sequence[str] | None
    story: int
    source_id: str
    source_name: str | None


@dataclass(frozen=True, slots=True)
class Series:
    """Relevant articles and distinct stories per week, for one topic or for all."""

    id: str
    name: str
    articles: tuple[int, ...]
    stories: tuple[int, ...]
    total_articles: int
    total_stories: int  # a story that runs over two weeks counts in each week, once here

    def as_dict(self, weeks: Sequence[str]) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "articles": self.total_articles,
                "stories": self.total_stories,
                "weekly": [{"week": w, "articles": a, "stories": s}
                           for w, a, s in zip(weeks, self.articles, self.stories, strict=True)]}


@dataclass(frozen=True, slots=True)
class SourceCount:
    id: str
    name: str
    articles: int
    relevant: int


@dataclass(frozen=True, slots=True)
class Stats:
    since: datetime
    until: datetime
    weeks: tuple[str, ...]  # ISO weeks, oldest first: "2026-W47"
    topics: tuple[Series, ...]
    relevant: Series  # all relevant articles, each once whatever its topics
    sources: tuple[SourceCount, ...]  # the most prolific first
    articles: int  # every news article in the window, relevant or not

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "weeks": list(self.weeks),
                "totals": {"articles": self.articles, "relevant": self.relevant.total_articles,
                           "stories": self.relevant.total_stories,
                           "weekly": self.relevant.as_dict(self.weeks)["weekly"]},
                "topics": [t.as_dict(self.weeks) for t in self.topics],
                "sources": [{"id": s.id, "name": s.name, "articles": s.articles,
                             "relevant": s.relevant} for s in self.sources]}


def weekly_stats(app: App, weeks: int) -> Stats:
    now = app.now().astimezone(UTC)
    since, labels = week_window(now, weeks)
    taxonomy = app.classifier.taxonomy
    with app.archive.engine.connect() as db:
        return compute(stats_rows(db, since, now), since, now, labels,
                       {t: taxonomy.name(t) for t in taxonomy.ids})


def chart_png(app: App, weeks: int = 12) -> bytes:
    """The weekly topic chart as PNG bytes (for the Monday digest)."""
    buffer = io.BytesIO()
    draw_chart(weekly_stats(app, weeks), buffer)
    return buffer.getvalue()


def cmd_stats(app: App, args: argparse.Namespace) -> int:
    if not 1 <= args.weeks <= MAX_WEEKS:
        raise TechwatchError(f"stats: --weeks must be between 1 and {MAX_WEEKS}")
    stats = weekly_stats(app, args.weeks)
    if args.png:
        draw_chart(stats, args.png)
    if args.json:
        print(json.dumps(stats.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_stats(stats, console())
    sys.stdout.flush()
    if args.png:
        print(f"chart written to {args.png}", file=sys.stderr)
    return 0


# --- pure ---------------------------------------------------------------------------------

def week_label(moment: datetime) -> str:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def week_window(now: datetime, count: int) -> tuple[datetime, tuple[str, ...]]:
    """The Monday 00:00 UTC that starts the oldest of the last `count` ISO weeks (this one
    included), and the weeks' labels, oldest first."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=today.weekday(), weeks=count - 1)
    return start, tuple(week_label(start + timedelta(weeks=i)) for i in range(count))


def compute(rows: Iterable[Fact], since: datetime, until: datetime, weeks: Sequence[str],
            topic_names: Mapping[str, str], top: int = TOP_SOURCES) -> Stats:
    """Count, in one pass over the rows, what the report shows. Topics the taxonomy no longer has
    are kept (after the known ones), so no relevant article disappears from the numbers."""
    position = {w: i for i, w in enumerate(weeks)}
    names = dict(topic_names)
    articles: dict[str | None, list[int]] = {}  # topic id (None: any topic) -> per week
    stories: dict[str | None, list[set[int]]] = {}
    by_source: dict[str, list[int]] = {}
    source_names: dict[str, str] = {}
    total = 0
    for row in rows:
        week = position.get(week_label(row.date))
        if week is None:
            continue
        total += 1
        counts = by_source.setdefault(row.source_id, [0, 0])
        counts[0] += 1
        source_names[row.source_id] = row.source_name or row.source_id
        if not row.relevant:
            continue
        counts[1] += 1
        for key in (None, *dict.fromkeys(row.topics or ())):
            if key is not None:
                names.setdefault(key, key)
            articles.setdefault(key, [0] * len(weeks))[week] += 1
            stories.setdefault(key, [set() for _ in weeks])[week].add(row.story)

    def series(key: str | None, name: str) -> Series:
        per_week = articles.get(key, [0] * len(weeks))
        sets = stories.get(key, [set() for _ in weeks])
        return Series(key or "all", name, tuple(per_week), tuple(len(s) for s in sets), sum(per_week),
                      len(set().union(*sets)))

    order = sorted(by_source, key=lambda s: (-by_source[s][0], -by_source[s][1], s))[:top]
    return Stats(
        since=since, until=until, weeks=tuple(weeks),
        topics=tuple(series(k, n) for k, n in names.items()),
        relevant=series(None, "all relevant"),
        sources=tuple(SourceCount(s, source_names[s], *by_source[s]) for s in order),
        articles=total)


# --- rendering ------------------------------------------------------------------------------

def print_stats(stats: Stats, out: Console) -> None:
    period = f"{stats.since:%Y-%m-%d} – {stats.until:%Y-%m-%d %H:%M} UTC"
    table = Table(title=f"Relevant articles (distinct stories) per ISO week · {period}",
                  expand=False)
    table.add_column("topic", overflow="fold")
    for week in stats.weeks:
        table.add_column(week.split("-")[1], justify="right", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    for s in (*stats.topics, stats.relevant):
        cells = [_cell(a, n) for a, n in zip(s.articles, s.stories, strict=True)]
        style = "bold" if s is stats.relevant else None
        table.add_row(escape(s.name), *cells, _cell(s.total_articles, s.total_stories),
                      style=style, end_section=s is stats.topics[-1] if stats.topics else False)
    out.print(table)
    sources = Table(title="Top sources", expand=False)
    for column in ("source", "articles", "relevant"):
        sources.add_column(column, justify="left" if column == "source" else "right")
    for c in stats.sources:
        sources.add_row(escape(c.name), str(c.articles), str(c.relevant))
    out.print(sources if stats.sources else "No news articles in this period.")
    out.print(f"Totals: {stats.articles} articles, {stats.relevant.total_articles} relevant, "
              f"{stats.relevant.total_stories} stories")


def _cell(articles: int, stories: int) -> str:
    return f"{articles} ({stories})" if articles else "–"


PAIRS_LABEL = "article–topic pairs (an article counts once per topic)"
RELEVANT_LABEL = "relevant articles (each once)"


def build_chart(stats: Stats) -> Figure:
    """Weekly relevant articles per topic as stacked bars, the legend beside them by topic name.
    A stack counts article–topic pairs (an article with two topics is in both, so a stack can
    stand above the week's articles), and the axis says so; the week's relevant articles, each
    once, are the dots over the stacks. CHART_SIZE at CHART_DPI, whatever the data, so the
    image has a known size."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render to a file
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=CHART_SIZE, dpi=CHART_DPI, layout="constrained")
    axes = figure.subplots()
    labels = [w.split("-")[1] for w in stats.weeks]
    x = range(len(labels))
    bottom = [0] * len(labels)
    colors = matplotlib.colormaps["tab20"]
    shown = [s for s in stats.topics if s.total_articles]
    for i, s in enumerate(shown):
        axes.bar(x, s.articles, bottom=bottom, label=s.name, color=colors(i % 20), width=0.8)
        bottom = [b + a for b, a in zip(bottom, s.articles, strict=True)]
    if shown:
        axes.plot(list(x), stats.relevant.articles, linestyle="none", marker="o", color="black",
                  markersize=4, label=RELEVANT_LABEL)
    axes.set_xticks(list(x), labels, rotation=90 if len(labels) > 26 else 0, fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(f"ISO week ({stats.weeks[0]} – {stats.weeks[-1]}, UTC)")
    axes.set_ylabel(PAIRS_LABEL)
    axes.set_title("techwatch: relevant articles per topic per week")
    if shown:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    else:
        axes.text(0.5, 0.5, "no relevant articles in this period", ha="center",
                  transform=axes.transAxes)
    return figure


def draw_chart(stats: Stats, path: str | BinaryIO) -> None:
    """The chart (`build_chart`) as a PNG file."""
    try:
        build_chart(stats).savefig(path, format="png", dpi=CHART_DPI)
    except OSError as e:
        raise TechwatchError(f"stats: cannot write {path}: {e.strerror or e}") from None
