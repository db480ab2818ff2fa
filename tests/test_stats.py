"""`techwatch stats`: its numbers against a count done in SQL on the same archive (each dialect's
own date and JSON functions), the chart, and the pure counting on literal rows."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import DIALECTS, FIXED_NOW, empty_database, run_once, write_config
from newsite import database, news_sources, query, serve_news_site
from sitesrv import Site

from bot.stats import compute, week_window

NEWS = "source_id != 'seed'"
DATE = "coalesce(published, first_seen)"  # what a week is counted by


@pytest.fixture(scope="module", params=DIALECTS)
def config(request, tmp_path_factory) -> Iterator[Path]:
    """An archive built by one `techwatch run --once` from the fixture site (the stories span two
    ISO weeks: one is dated Sunday 2026-11-15 UTC, the rest the week after)."""
    directory = tmp_path_factory.mktemp("archive")
    with empty_database(request.param, directory) as url:
        site = Site().start()
        try:
            serve_news_site(site)
            path = write_config(directory, news_sources(site), database=url)
            run_once(path)
        finally:
            site.stop()
        yield path


# each dialect's own: the Monday of a date's week, and a JSON array's values as rows `j(value)`
MONDAY = {"sqlite": f"date({DATE}, 'weekday 0', '-6 days')",
          "postgresql": f"to_char(date_trunc('week', {DATE}), 'YYYY-MM-DD')"}
VALUES = {"sqlite": "json_each(a.topics) j", "postgresql": "jsonb_array_elements_text(a.topics) j"}


def counted_in_sql(config: Path, weeks: int) -> dict:
    """The report's numbers, counted independently: weeks from the database's date functions
    (the Monday of each date's week), topics from its JSON functions."""
    dialect = database(config).split(":")[0].split("+")[0]
    start = datetime(2026, 11, 16, tzinfo=UTC) - timedelta(weeks=weeks - 1)  # FIXED_NOW's Monday
    window = f"{NEWS} AND {DATE} >= ? AND {DATE} <= ?"
    args = (start.replace(tzinfo=None), FIXED_NOW.replace(tzinfo=None))  # stored: naive UTC

    def iso(monday: str) -> str:
        year, week, _ = date.fromisoformat(monday).isocalendar()
        return f"{year}-W{week:02d}"

    monday = MONDAY[dialect]
    relevant, a_relevant = ("CASE WHEN a.relevant THEN 1 ELSE 0 END".replace("a.", p)
                            for p in ("", "a."))
    per_topic = {(t, iso(m)): (n, s) for t, m, n, s in query(
        config, f"SELECT j.value, {monday}, count(*), count(DISTINCT coalesce(story_id, a.id)) "
                f"FROM articles a, {VALUES[dialect]} WHERE relevant AND {window} "
                "GROUP BY j.value, 2", *args)}
    weekly = {iso(m): (n, s) for m, n, s in query(
        config, f"SELECT {monday}, count(*), count(DISTINCT coalesce(story_id, id)) FROM articles "
                f"WHERE relevant AND {window} GROUP BY 1", *args)}
    totals = query(config, f"SELECT count(*), sum({relevant}), count(DISTINCT CASE WHEN "
                           f"relevant THEN coalesce(story_id, id) END) FROM articles "
                           f"WHERE {window}", *args)[0]
    sources = query(config, f"SELECT s.name, count(*), sum({a_relevant}) FROM articles a "
                            f"JOIN sources s ON s.id = a.source_id WHERE a.{window} "
                            "GROUP BY a.source_id, s.name ORDER BY 2 DESC, 3 DESC, a.source_id",
                    *args)
    return {"per_topic": per_topic, "weekly": weekly, "totals": totals, "sources": sources}


def test_json_numbers_match_a_count_in_sql(config, cli):
    code, out, err = cli("--config", str(config), "stats", "--weeks", "3", "--json")
    assert code == 0, err
    report = json.loads(out)
    expected = counted_in_sql(config, 3)
    assert report["weeks"] == ["2026-W45", "2026-W46", "2026-W47"]
    assert report["since"] == "2026-11-02T00:00:00+00:00"
    found = {(t["id"], w["week"]): (w["articles"], w["stories"])
             for t in report["topics"] for w in t["weekly"] if w["articles"]}
    assert found == expected["per_topic"]
    assert {w for _, w in found} == {"2026-W46", "2026-W47"}  # spread over two weeks
    assert {w["week"]: (w["articles"], w["stories"]) for w in report["totals"]["weekly"]
            if w["articles"]} == expected["weekly"]
    articles, relevant, stories = expected["totals"]
    assert (report["totals"]["articles"], report["totals"]["relevant"],
            report["totals"]["stories"]) == (articles, relevant, stories)
    assert 0 < relevant < articles
    assert [(s["name"], s["articles"], s["relevant"]) for s in report["sources"]] == \
        [tuple(r) for r in expected["sources"]]
    for topic in report["topics"]:  # a topic's total: the sum of its weeks
        assert topic["articles"] == sum(w["articles"] for w in topic["weekly"])
    assert [t["id"] for t in report["topics"]][:3] == ["ai", "semiconductors", "telecom"]


def test_one_week_leaves_out_the_week_before(config, cli):
    report = json.loads(cli("--config", str(config), "stats", "--weeks", "1", "--json")[1])
    expected = counted_in_sql(config, 1)
    assert report["weeks"] == ["2026-W47"]
    assert report["totals"]["relevant"] == expected["totals"][1] < \
        counted_in_sql(config, 3)["totals"][1]


def test_text_table_shows_the_same_numbers(config, cli):
    code, out, err = cli("--config", str(config), "stats", "--weeks", "3")
    assert code == 0, err
    expected = counted_in_sql(config, 3)
    articles, relevant, stories = expected["totals"]
    assert f"Totals: {articles} articles, {relevant} relevant, {stories} stories" in out
    header = next(line for line in out.splitlines() if "topic" in line and "total" in line)
    assert re.findall(r"W\d\d", header) == ["W45", "W46", "W47"]
    semis = next(line for line in out.splitlines() if "Semiconductors" in line)
    cells = [c.strip() for c in semis.strip("│┃ ").split("│")][1:]
    for week, cell in zip(("2026-W45", "2026-W46", "2026-W47"), cells, strict=False):
        n, s = expected["per_topic"].get(("semiconductors", week), (0, 0))
        assert cell == (f"{n} ({s})" if n else "–")
    everything = next(line for line in out.splitlines() if "all relevant" in line)
    assert everything.rstrip(" │").endswith(f"{relevant} ({stories})")
    for name, count, rel in expected["sources"]:
        assert re.search(rf"{re.escape(name)}\s*│\s*{count}\s*│\s*{rel}\b", out), name


def test_png_chart_is_a_1000_by_500_image(config, cli, tmp_path):
    target = tmp_path / "weekly.png"
    code, out, err = cli("--config", str(config), "stats", "--json", "--png", str(target))
    assert code == 0, err
    assert json.loads(out)["weeks"][-1] == "2026-W47" and f"chart written to {target}" in err
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1000, 500)
    assert len(data) > 10_000  # bars, labels and a legend, not a blank canvas


def test_unwritable_png_and_bad_weeks_are_one_line_errors(config, cli, tmp_path):
    code, out, err = cli("--config", str(config), "stats", "--png", str(tmp_path / "no" / "x.png"))
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.strip() == f"techwatch: stats: cannot write {tmp_path / 'no' / 'x.png'}: " \
                          "No such file or directory"
    code, _, err = cli("--config", str(config), "stats", "--weeks", "0")
    assert code == 1 and "--weeks must be between 1 and" in err


# --- the pure parts ------------------------------------------------------------------------

@dataclass
class Row:
    date: datetime
    relevant: bool | None
    topics: list[str] | None
    story: int
    source_id: str = "a"
    source_name: str | None = "Outlet A"


def day(d: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, d, hour, tzinfo=UTC)


@pytest.mark.parametrize(("now", "count", "start", "weeks"), [
    (day(22, 23), 2, day(9, 0), ("2026-W46", "2026-W47")),  # a Sunday night: its week is W47
    (day(23, 0), 1, day(23, 0), ("2026-W48",)),  # Monday midnight starts a new week
    (datetime(2026, 1, 1, 9, tzinfo=UTC), 2, datetime(2025, 12, 22, tzinfo=UTC),
     ("2025-W52", "2026-W01")),  # ISO weeks across the new year
])
def test_week_window(now, count, start, weeks):
    assert week_window(now, count) == (start, weeks)


def test_compute_counts_stories_once_and_keeps_unknown_topics():
    since, weeks = week_window(day(22), 2)
    rows = [
        Row(day(10), True, ["ai"], 1),
        Row(day(17), True, ["ai", "space", "ai"], 1),  # same story the week after; ai listed twice
        Row(day(18), True, ["ai"], 2, "b", "Outlet B"),
        Row(day(18), False, ["ai"], 3, "b", "Outlet B"),  # not relevant: in the sources only
        Row(day(19), True, ["robots"], 4),  # a topic since removed from the taxonomy
        Row(day(19), True, [], 5),  # relevant, no topic: counted in the totals only
        Row(day(2), True, ["ai"], 6),  # before the window
    ]
    stats = compute(rows, since, day(22), weeks, {"ai": "AI", "space": "Space", "quantum": "Q"})
    by_id = {t.id: t for t in stats.topics}
    assert [t.id for t in stats.topics] == ["ai", "space", "quantum", "robots"]
    assert (by_id["ai"].articles, by_id["ai"].stories) == ((1, 2), (1, 2))
    assert (by_id["ai"].total_articles, by_id["ai"].total_stories) == (3, 2)  # story 1 once
    assert by_id["quantum"].articles == (0, 0) and by_id["robots"].name == "robots"
    assert (stats.relevant.articles, stats.relevant.total_stories) == ((1, 4), 4)
    assert stats.articles == 6
    assert [(s.id, s.articles, s.relevant) for s in stats.sources] == [("a", 4, 4), ("b", 2, 1)]
    assert stats.as_dict()["totals"]["stories"] == 4


def test_the_chart_says_what_a_stack_counts_and_names_its_topics():
    """A stack counts article–topic pairs (three articles with two topics each make six), and
    the axis says so; the week's relevant articles, each once, are the dots; the legend names
    the topics as the taxonomy does, not by id."""
    from test_classify import TAXONOMY

    from bot.stats import PAIRS_LABEL, RELEVANT_LABEL, build_chart

    since, weeks = week_window(day(22), 2)
    rows = [Row(day(17), True, ["semiconductors", "export_controls"], 1),
            Row(day(18), True, ["semiconductors", "export_controls"], 2),
            Row(day(19), True, ["semiconductors", "ai"], 3),
            Row(day(20), True, ["semiconductors"], 4)]
    names = {t: TAXONOMY.name(t) for t in TAXONOMY.ids}
    stats = compute(rows, since, day(22), weeks, names)
    axes = build_chart(stats).axes[0]
    assert axes.get_ylabel() == PAIRS_LABEL == \
        "article–topic pairs (an article counts once per topic)"
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    shown = [names[t] for t in ("ai", "semiconductors", "export_controls")]
    assert sorted(legend) == sorted([*shown, RELEVANT_LABEL])
    assert all(n != t for n, t in zip(shown, ("ai", "semiconductors", "export_controls"),
                                      strict=True))  # names, not ids
    assert not set(legend) & set(TAXONOMY.ids)
    stacks = [sum(bar.get_height() for c in axes.containers for bar in c.patches
                  if round(bar.get_x() + bar.get_width() / 2) == week) for week in (0, 1)]
    assert stacks == [0, 7]  # 3 + 3 + 1 pairs in the last week: above its 4 articles
    (dots,) = axes.get_lines()
    assert list(dots.get_ydata()) == [0, 4] and dots.get_label() == RELEVANT_LABEL
