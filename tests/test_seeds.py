"""The seed documents: archived on first run as reference texts, dated by their own text (or
not at all), labelled as what they are, and exported only when asked."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from conftest import FIXED_NOW, ROOT, write_config
from newsite import engine_of, query

from bot.seeds import read_seeds, seed_date

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ANALYSIS = "004_a9a26fadbe6cc19b"  # "... in the first quarter of 2022", naming February 11, 2022


def test_a_seed_is_dated_by_the_latest_day_its_text_names():
    assert seed_date("Signed on February 11, 2022, then on 3 March 2022.", NOW) == \
        datetime(2022, 3, 3, tzinfo=UTC)
    assert seed_date("2023年4月1日に発表。Sept. 9 2021 too.", NOW) == datetime(2023, 4, 1, tzinfo=UTC)
    assert seed_date("Updated 2024-06-30.", NOW) == datetime(2024, 6, 30, tzinfo=UTC)


def test_a_period_a_plan_or_a_non_date_is_no_date():
    assert seed_date("An analysis of the first quarter of 2022, looking to 2028.", NOW) is None
    assert seed_date("Mark 3, 2022 is a verse, not a day; nor is February 30, 2022.", NOW) is None
    # a day after the text was archived is a plan: the latest day up to now is the date
    assert seed_date("Agreed on May 2, 2025, to be in force by June 1, 2030.", NOW) == \
        datetime(2025, 5, 2, tzinfo=UTC)


def test_the_shipped_seeds_get_their_own_dates():
    dates = {s.name: s.published for s in read_seeds(ROOT / "seeds", NOW)}
    assert len(dates) == 5 and dates.pop(ANALYSIS) == datetime(2022, 2, 11, tzinfo=UTC)
    assert set(dates.values()) == {None}  # no day named: undated, not "archived today"


def test_seeds_in_search_and_export(tmp_path, cli):
    config = write_config(tmp_path, [])
    assert cli("--config", str(config), "poll")[0] == 0  # a first run: the seeds archived
    code, out, err = cli("--config", str(config), "search", "first", "quarter", "2022")
    assert code == 0 and "2022-02-11" in out and FIXED_NOW.strftime("%Y-%m-%d") not in out
    assert "(seed document" in out and "shipped with techwatch" in out
    assert "no link in the feed" not in out

    code, out, err = cli("--config", str(config), "export")
    assert code == 0 and out == ""  # news only, by default
    code, out, err = cli("--config", str(config), "export", "--include-seeds")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(records) == 5
    assert {r["source"] for r in records} == {"seed"}
    assert sorted(r["id"] for r in records) == [f"tw-{i}" for i in range(1, 6)]
    dated = {r["url"]: r["published"] for r in records}
    assert dated.pop(f"seed:{ANALYSIS}") == "2022-02-11" and set(dated.values()) == {None}


def test_an_archive_whose_seeds_were_dated_the_day_they_were_archived_is_corrected(tmp_path, cli):
    config = write_config(tmp_path, [])
    assert cli("--config", str(config), "poll")[0] == 0
    with engine_of(config).begin() as db:  # as an earlier version left them
        db.exec_driver_sql("UPDATE articles SET published = first_seen, date_source = "
                           "'first_seen' WHERE source_id = 'seed'")
    assert cli("--config", str(config), "poll")[0] == 0
    rows = query(config, "SELECT url, published FROM articles WHERE source_id = 'seed'")
    dates = {url: published for url, published in rows}
    assert str(dates.pop(f"seed:{ANALYSIS}")).startswith("2022-02-11")
    assert set(dates.values()) == {None}
