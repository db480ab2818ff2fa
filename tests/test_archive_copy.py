"""`techwatch archive copy`: an SQLite archive built by the product, copied into a real
PostgreSQL database — every row, the full-text index, the sequences; killed midway and resumed;
the targets and arguments it refuses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import FIXED_NOW, ROOT, write_config
from newsite import article_paths, news_sources, serve_news_site
from pgdb import throwaway_database
from sitesrv import Reply, Site

from bot.cli import main
from bot.models import Classification
from bot.store import copy, fts, open_archive
from bot.store.schema import metadata

ALERTS = '[slack]\nalert_max_age_hours = 1000\n[[slack.alerts]]\nchannel = "C0ALERTS"\n' \
         "min_score = 0.3\n"
FTS_ROWS = "SELECT count(*) FROM articles_fts"


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Iterator[Path]:
    """A config over an SQLite archive with rows in every table, made by the product: a run
    with the terminal digest, a backfill from a sitemap, a run alerting to Slack a day later,
    then a subscription, a reader's vote and a channel Slack refused."""
    from slackstub import TOKEN, SlackStub

    site, slack = Site().start(), SlackStub(channels=("C0DIGEST", "C0ALERTS"))
    serve_news_site(site)
    site.route("/robots.txt", Reply(body=f"Sitemap: {site.url('/sitemap.xml')}\n".encode(),
                                    headers={"Content-Type": "text/plain"}))
    urls = "".join(f"<url><loc>{site.url(p)}</loc></url>" for p in article_paths())
    site.route("/sitemap.xml", Reply(body=(
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{urls}</urlset>").encode(), headers={"Content-Type": "application/xml"}))
    directory = tmp_path_factory.mktemp("source")
    try:
        with pytest.MonkeyPatch.context() as env:
            for name in ("TECHWATCH_CONFIG", "TECHWATCH_DATABASE_URL", "SLACK_BOT_TOKEN"):
                env.delenv(name, raising=False)
            config = write_config(directory, news_sources(site, ["en-rss2.xml"]))
            yesterday = FIXED_NOW - timedelta(days=1)
            assert main(["--config", str(config), "-q", "run", "--once"],
                        now=lambda: yesterday) == 0
            assert main(["--config", str(config), "-q", "backfill"], now=lambda: yesterday) == 0
            env.setenv("SLACK_API_URL", slack.url)
            env.setenv("SLACK_BOT_TOKEN", TOKEN)
            config = write_config(directory, news_sources(site), extra=ALERTS)
            assert main(["--config", str(config), "-q", "run", "--once"],
                        now=lambda: FIXED_NOW) == 0
    finally:
        site.stop()
        slack.stop()
    store = open_archive(f"sqlite:///{directory / 'techwatch.db'}")
    try:
        store.subscribe("C0ALERTS", ["semiconductors", "*"], 0.5, "U1", FIXED_NOW)
        relevant = next(a for a in store.search("Japan") if a.relevant)
        assert store.record_feedback(relevant.id, "U1", "not_relevant", "", "C0ALERTS",
                                     FIXED_NOW) is not None
        store.hold_channel("C0GONE", "channel_not_found", FIXED_NOW, lambda tries: timedelta(
            minutes=tries))
        watch = store.add_watch("C0ALERTS", "Rapidus OR 量子", relevant_only=True, topics=(),
                                lang="", user="U1", now=FIXED_NOW)
        store.record_watch_matches([(f"slack:{watch}", relevant.id)], FIXED_NOW)
    finally:
        store.close()
    empty = [t.name for t in copy.TABLES if not rows_of(source_url(config), t)]
    assert empty == [], f"the fixture archive leaves {empty} empty: the copy of those is untested"
    yield config


def source_url(config: Path) -> str:
    return f"sqlite:///{config.parent / 'techwatch.db'}"


def rows_of(url: str, table: sa.Table) -> list[tuple]:
    """A table's rows as Python values, and which JSON columns hold SQL NULL, in key order."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    nulls = [c.is_(None).label(f"{c.name}_is_null") for c in table.columns
             if isinstance(c.type, sa.JSON)]
    try:
        with engine.connect() as db:
            rows = [tuple(r) for r in db.execute(sa.select(table, *nulls))]
    finally:
        engine.dispose()
    width = len(table.primary_key.columns)
    keys = [table.columns.keys().index(c.name) for c in table.primary_key.columns]
    assert width == len(keys)
    return sorted(rows, key=lambda r: tuple(str(r[k]).encode() if isinstance(r[k], str)
                                            else r[k] for k in keys))


def scalar(url: str, sql: str, **params) -> object:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as db:
            return db.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()


def assert_same_archive(source: str, target: str) -> None:
    for table in copy.TABLES:
        assert rows_of(target, table) == rows_of(source, table), table.name
    assert scalar(target, FTS_ROWS) == scalar(source, "SELECT count(*) FROM articles")


@pytest.fixture
def target() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


def test_every_row_is_copied_with_its_id_search_works_and_new_rows_get_new_ids(
        archive, target, cli):
    code, out, err = cli("--config", str(archive), "archive", "copy", "--to", target)
    assert code == 0, err
    assert "Traceback" not in err and "differs" not in out
    source = source_url(archive)
    for table in (*copy.TABLES, "articles_fts"):
        name = getattr(table, "name", table)
        assert f"│ {name} " in out  # the count table names each one
    assert_same_archive(source, target)
    assert "workers" not in {t.name for t in copy.TABLES} and len(copy.TABLES) == len(
        metadata.tables) - 1

    for word in ("semiconductor", "JAXA", "quantum", "rover", "半導体", "日米"):
        # the same articles match in the copy's index as in FTS5's (title and text)
        found = {r for (r,) in query_rows(target, (
            "SELECT rowid FROM articles_fts WHERE doc @@ phraseto_tsquery('english', :q)"),
            q=fts.index_text(word))}
        assert found and found == {r for (r,) in query_rows(source, (
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q"),
            q=fts.match_query(word))}, word
    moved, before = open_archive(target), open_archive(source, read_only=True)
    try:
        for words in ("semiconductor", "quantum computer", "半導体", "JAXA OR rover"):
            # the archive's own search finds the same stories (ranked alike: BM25 there is
            # computed from PostgreSQL's counts, not FTS5's)
            found, was = [v.id for v in moved.search(words)], [v.id for v in before.search(words)]
            assert set(found) == set(was) and found[:1] == was[:1], words
        assert moved.search("semiconductor")
    finally:
        before.close()
    try:
        # new rows after the copy: ids past the copied ones, nothing collides
        ids = {t: scalar(target, f"SELECT max(id) FROM {t}")
               for t in ("articles", "fetch_log", "digests", "deliveries", "feedback")}
        moved.log_fetch(FIXED_NOW, "en-rss2", "feed", "http://example.org/feed", "ok", None)
        moved.record_digest("C0NEW", FIXED_NOW, [1])
        moved.add_seed("after-the-move", "Zylophonic partnership after the move",
                       "Japan and the United States announced a quantum partnership.",
                       Classification(relevant=False, score=0.1, topics=(), evidence={}),
                       FIXED_NOW)
        assert scalar(target, "SELECT max(id) FROM fetch_log") == ids["fetch_log"] + 1
        assert scalar(target, "SELECT max(id) FROM digests") == ids["digests"] + 1
        assert scalar(target, "SELECT max(id) FROM articles") == ids["articles"] + 1
        for table in ("deliveries", "feedback"):
            assert scalar(target, f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))") \
                == ids[table] + 1
        assert query_rows(target, "SELECT a.title FROM articles_fts f JOIN articles a ON "
                                   "a.id = f.rowid WHERE f.doc @@ plainto_tsquery('english', "
                                   "'zylophonic')") == [("Zylophonic partnership after the move",)]
    finally:
        moved.close()


def test_a_finished_copy_run_again_changes_nothing_and_a_lost_row_fails_the_count(
        archive, target, cli):
    assert cli("--config", str(archive), "archive", "copy", "--to", target)[0] == 0
    code, out, err = cli("--config", str(archive), "archive", "copy", "--to", target)
    assert code == 0 and "differs" not in out, err
    assert_same_archive(source_url(archive), target)
    # a row lost from the middle of a table (not after its last key) is not copied again:
    # the counts say so, in one line, exit 1
    middle = scalar(target, "SELECT term FROM term_documents ORDER BY term COLLATE \"C\" "
                            "OFFSET 10 LIMIT 1")
    engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
    with engine.begin() as db:
        db.execute(sa.text("DELETE FROM term_documents WHERE term = :t"), {"t": middle})
    engine.dispose()
    code, out, err = cli("--config", str(archive), "archive", "copy", "--to", target)
    assert code == 1 and "differs" in out
    assert len(err.strip().splitlines()) == 1 and "term_documents" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("table", "key_sql"), [
    ("articles", "SELECT id FROM articles ORDER BY id"),
    ("term_documents", "SELECT term FROM term_documents ORDER BY term"),  # SQLite: byte order
])
def test_a_copy_killed_midway_goes_on_where_it_stopped_and_duplicates_nothing(
        archive, target, table, key_sql):
    """The copy is stopped inside a table: a row another transaction holds (uncommitted) blocks
    its chunk; the copy is killed with SIGKILL there, then run again."""
    source = source_url(archive)
    keys = [k for (k,) in query_rows(source, key_sql)]
    key = keys[len(keys) // 2]
    open_archive(target).close()  # the schema, for the blocking row
    blocker = sa.create_engine(target, poolclass=sa.pool.NullPool)
    hold = blocker.connect()
    if table == "articles":
        hold.execute(sa.text(
            "INSERT INTO articles (id, source_id, url, canonical_url, title, summary, text, "
            "first_seen, state, fetch_fulltext, attempts) VALUES (:k, 'x', 'x', 'x', 'x', '', "
            "'', now(), 'pending', false, 0)"), {"k": key})
    else:
        hold.execute(sa.text("INSERT INTO term_documents VALUES (:k, 1)"), {"k": key})
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(archive), "archive", "copy", "--to", target,
         "--chunk-rows", "3"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "TECHWATCH_DATABASE_URL"})
    try:
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() " \
                  "AND wait_event = 'transactionid'"
        deadline = time.monotonic() + 60  # a safety net, not a measurement
        while not scalar(target, waiting):
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "the copy never reached the blocked row"
            time.sleep(0.05)
        before = scalar(target, f"SELECT count(*) FROM {table}")
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
        process.stderr.close()
        hold.rollback()
        hold.close()
        with blocker.connect() as db:  # the killed client's server process ends with it
            db.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                               "datname = current_database() AND pid <> pg_backend_pid()"))
        blocker.dispose()
    total = len(keys)
    stopped = scalar(target, f"SELECT count(*) FROM {table}")
    assert stopped == before and 0 < stopped < total  # whole chunks, before the blocked one
    if table == "articles":
        assert scalar(target, FTS_ROWS) == stopped  # each chunk with its full-text rows

    resumed = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(archive), "archive", "copy", "--to", target,
         "--chunk-rows", "3"], cwd=ROOT, capture_output=True, text=True,
        env={k: v for k, v in os.environ.items() if k != "TECHWATCH_DATABASE_URL"})
    assert resumed.returncode == 0, resumed.stderr
    assert_same_archive(source, target)  # every row once: none lost, none twice


def query_rows(url: str, sql: str, **params) -> list[tuple]:
    """Rows of a query on either database."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as db:
            return [tuple(r) for r in db.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def test_a_target_holding_another_archive_is_refused_and_left_as_it_was(
        archive, target, cli, tmp_path, monkeypatch):
    # a PostgreSQL archive techwatch already ran on: its own seeds under the same ids
    monkeypatch.chdir(tmp_path)  # bot.lock puts a server database's lock file in the cwd
    other = write_config(tmp_path / "other", [], database=target)
    assert cli("--config", str(other), "run", "--once")[0] == 0
    before = {t.name: scalar(target, f"SELECT count(*) FROM {t.name}") for t in copy.TABLES}
    assert before["articles"] > 0
    code, out, err = cli("--config", str(archive), "archive", "copy", "--to", target)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "another archive" in err
    assert "Traceback" not in err
    assert {t.name: scalar(target, f"SELECT count(*) FROM {t.name}")
            for t in copy.TABLES} == before


def test_other_articles_under_the_same_ids_are_refused(archive, target, cli):
    moved = open_archive(target)
    try:
        for name in ("a", "b"):
            moved.add_seed(name, f"Other {name}", "Another archive's text.",
                           Classification(relevant=False, score=0.0, topics=(), evidence={}),
                           FIXED_NOW)
    finally:
        moved.close()
    code, _, err = cli("--config", str(archive), "archive", "copy", "--to", target)
    assert code == 2 and "another archive" in err and "articles" in err


def test_the_environments_archive_is_copied_and_not_while_a_writer_holds_it(
        archive, target, cli, tmp_path, monkeypatch):
    from bot.lock import exclusive

    elsewhere = write_config(tmp_path, [])  # its storage.database: a file that is not there
    monkeypatch.setenv("TECHWATCH_DATABASE_URL", source_url(archive))
    with exclusive(source_url(archive)):  # as `techwatch run` holds it
        code, out, err = cli("--config", str(elsewhere), "archive", "copy", "--to", target)
    assert code == 1 and out == "" and "in use by techwatch" in err
    assert scalar(target, "SELECT count(*) FROM articles") == 0
    code, out, err = cli("--config", str(elsewhere), "archive", "copy", "--to", target)
    assert code == 0, err
    assert_same_archive(source_url(archive), target)
    assert not (tmp_path / "techwatch.db").exists()


@pytest.mark.parametrize(("args", "said"), [
    (("--to", "sqlite:////tmp/elsewhere.db"), "must be a PostgreSQL database"),
    (("--to", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"), "127.0.0.1:1"),
    (("--to", "postgresql://postgres@127.0.0.1:5432/x", "--from", "sqlite:///{missing}"),
     "there is no archive at"),
])
def test_a_bad_target_or_a_missing_source_is_one_line_and_exit_2(tmp_path, cli, args, said):
    config = write_config(tmp_path, [])
    open_archive(f"sqlite:///{tmp_path / 'techwatch.db'}").close()  # the configured archive
    missing = tmp_path / "nothing" / "here.db"
    code, out, err = cli("--config", str(config), "archive", "copy",
                         *(a.format(missing=missing) for a in args))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and said in err, err
    assert "Traceback" not in err
    assert not missing.parent.exists() and not Path("/tmp/elsewhere.db").exists()


def test_chunks_are_bounded_by_rows_and_by_bytes():
    rows = [{"id": i, "html": b"x" * 100} for i in range(10)]
    assert [len(c) for c in copy.chunks(rows, max_rows=4, max_bytes=10_000)] == [4, 4, 2]
    assert [len(c) for c in copy.chunks(rows, max_rows=100, max_bytes=250)] == [3, 3, 3, 1]
    assert [r["id"] for c in copy.chunks(rows, 3, 250) for r in c] == list(range(10))
    assert copy.mismatches([copy.TableCount("a", 2, 2), copy.TableCount("b", 3, 1)]) == [
        "b has 1 rows in the target but 3 in the source"]
