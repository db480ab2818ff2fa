"""`techwatch export` on an archive built by `techwatch run` from the fixture news site."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import DIALECTS, FIXED_NOW, ROOT, empty_database, write_config
from newsite import database, engine_of, news_sources, parsed, query, serve_news_site, statement
from sitesrv import Site
from warcio.archiveiterator import ArchiveIterator

from bot.cli import main
from bot.export import FIELDS

CORPUS_FIELDS = ["id", "url", "title", "text", "lang", "published", "relevant", "borderline",
                 "topics", "event", "why"]  # the labeled corpus's names, in its order
NEWS = "source_id != 'seed'"


@pytest.fixture(scope="module", params=DIALECTS)
def archive(request, tmp_path_factory) -> Iterator[tuple[Path, Site]]:
    """Two `techwatch run --once`, a day apart: one feed first, then all four (so first-seen
    times differ). Built once for the module, in each dialect's archive; tests that change an
    archive copy it."""
    directory = tmp_path_factory.mktemp("archive")
    with empty_database(request.param, directory) as url:
        site = Site().start()
        try:
            serve_news_site(site)
            with pytest.MonkeyPatch.context() as env:
                for name in ("TECHWATCH_CONFIG", "TECHWATCH_DATABASE_URL", "SLACK_BOT_TOKEN"):
                    env.delenv(name, raising=False)
                config = write_config(directory, news_sources(site, ["en-rss2.xml"]),
                                      database=url)
                assert main(["--config", str(config), "-q", "run", "--once"],
                            now=lambda: FIXED_NOW - timedelta(days=1)) == 0
                config = write_config(directory, news_sources(site), database=url)
                assert main(["--config", str(config), "-q", "run", "--once"],
                            now=lambda: FIXED_NOW) == 0
            yield config, site
        finally:
            site.stop()


@contextmanager
def copy_archive(archive: tuple[Path, Site], directory: Path) -> Iterator[Path]:
    """A config over a copy of the module's archive (SQLite: sqlite3's backup, so the WAL comes
    along; PostgreSQL: a database made from it as a template)."""
    config, site = archive
    url = database(config)
    if url.startswith("postgresql"):
        from pgdb import throwaway_database

        with throwaway_database(template=url) as copy:
            yield write_config(directory, news_sources(site), database=copy)
        return
    copy = write_config(directory, news_sources(site))
    with closing(sqlite3.connect(config.parent / "techwatch.db")) as source, \
            closing(sqlite3.connect(directory / "techwatch.db")) as target:
        source.backup(target)
    yield copy


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_jsonl_has_the_corpus_fields_one_line_per_article_oldest_first(archive, cli):
    config, _ = archive
    code, out, err = cli("--config", str(config), "export")
    assert code == 0, err
    rows = records(out)
    stored = {f"tw-{r[0]}": r for r in query(
        config, f"SELECT id, title, relevant, topics, coalesce(story_id, id), lang FROM articles "
                f"WHERE {NEWS}")}
    assert len(rows) == len(stored) >= 10 and err.strip() == f"exported {len(rows)} articles"
    assert {r["id"] for r in rows} == set(stored)
    for r in rows:
        assert list(r)[:len(CORPUS_FIELDS)] == CORPUS_FIELDS and list(r) == list(FIELDS)
        _, title, relevant, topics, story, lang = stored[r["id"]]
        assert (r["title"], r["relevant"], r["topics"], r["lang"]) == \
            (title, bool(relevant), parsed(topics), lang)
        assert r["event"] == f"story-{story}" and r["story_id"] == story
        assert r["borderline"] is False and r["text"] and r["source"] != "seed"
        assert r["published"] is None or re.fullmatch(r"\d{4}-\d\d-\d\d", r["published"])
        assert isinstance(r["why"], str) and (r["why"] or not r["relevant"])
    seen = [r["first_seen"] for r in rows]
    assert seen == sorted(seen) and seen[0] < seen[-1]  # two runs, the first run's items first
    assert any("\n" in r["text"] for r in rows) and any(r["lang"] == "ja" for r in rows)


def test_relevant_only_and_topic_filter(archive, cli):
    config, _ = archive
    topics = ("jsonb_array_elements_text(topics) AS j(value)" if
              database(config).startswith("postgresql") else "json_each(topics)")
    relevant = query(config, f"SELECT count(*) FROM articles WHERE {NEWS} AND relevant")[0][0]
    research = query(config, f"SELECT count(*) FROM articles WHERE {NEWS} AND EXISTS "
                             f"(SELECT 1 FROM {topics} WHERE value = 'research')")[0][0]
    both = query(config, f"SELECT count(*) FROM articles WHERE {NEWS} AND relevant AND "
                         f"EXISTS (SELECT 1 FROM {topics} WHERE value = 'research')")[0][0]
    total = query(config, f"SELECT count(*) FROM articles WHERE {NEWS}")[0][0]
    assert 0 < both < research < total and both < relevant < total

    rows = records(cli("--config", str(config), "export", "--relevant-only")[1])
    assert len(rows) == relevant and all(r["relevant"] for r in rows)
    rows = records(cli("--config", str(config), "export", "--topic", "research")[1])
    assert len(rows) == research and all("research" in r["topics"] for r in rows)
    rows = records(cli("--config", str(config), "export", "--topic", "research",
                       "--relevant-only")[1])
    assert len(rows) == both and all(r["relevant"] and "research" in r["topics"] for r in rows)

    code, out, err = cli("--config", str(config), "export", "--topic", "robots")
    assert code == 1 and out == "" and "unknown topic 'robots'" in err and len(err.splitlines()) == 1


def test_since_filters_on_first_seen(archive, cli):
    config, _ = archive
    later = query(config, f"SELECT count(*) FROM articles WHERE {NEWS} AND first_seen >= ?",
                  (FIXED_NOW - timedelta(hours=12)).replace(tzinfo=None))[0][0]
    total = query(config, f"SELECT count(*) FROM articles WHERE {NEWS}")[0][0]
    assert 0 < later < total
    rows = records(cli("--config", str(config), "export", "--since", "12h")[1])
    assert len(rows) == later and all(r["first_seen"] >= "2026-11-22T00" for r in rows)
    assert len(records(cli("--config", str(config), "export", "--since", "2026-11-22")[1])) == later
    assert len(records(cli("--config", str(config), "export", "--since", "2d")[1])) == total
    code, _, err = cli("--config", str(config), "export", "--since", "last tuesday")
    assert code == 1 and "--since" in err


def test_csv_round_trips_through_dictreader(archive, cli, tmp_path):
    config, _ = archive
    expected = records(cli("--config", str(config), "export")[1])
    target = tmp_path / "archive.csv"
    code, out, err = cli("--config", str(config), "export", "--format", "csv", "-o", str(target))
    assert code == 0 and out == "" and f"exported {len(expected)} articles" in err
    with open(target, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == list(FIELDS) and len(rows) == len(expected)
    for row, record in zip(rows, expected, strict=True):
        assert row["id"] == record["id"] and row["title"] == record["title"]
        assert row["text"] == record["text"]  # newlines, quotes and Japanese survive
        assert row["topics"].split(";") == record["topics"] if record["topics"] \
            else row["topics"] == ""
        assert row["relevant"] == ("true" if record["relevant"] else "false")
        assert float(row["score"]) == pytest.approx(record["score"])
        assert row["published"] == (record["published"] or "")
    code, out, _ = cli("--config", str(config), "export", "--format", "csv")
    assert code == 0 and list(csv.DictReader(io.StringIO(out))) == rows  # stdout: the same


def test_jsonl_export_feeds_eval(archive, cli, tmp_path):
    """The labels of an unlabeled export are the classifier's own judgement of the same text:
    scored against themselves, they must agree fully (anything else: the export lost text)."""
    config, _ = archive
    target = tmp_path / "export.jsonl"
    assert cli("--config", str(config), "export", "-o", str(target))[0] == 0
    code, out, err = cli("--config", str(config), "eval", str(target))
    assert code == 0, err
    assert "precision" in out and "recall" in out
    code, out, _ = cli("--config", str(config), "eval", "--json", str(target))
    report = json.loads(out)
    total = query(config, f"SELECT count(*) FROM articles WHERE {NEWS}")[0][0]
    assert code == 0 and report["items"] == total
    assert report["relevance"]["precision"] == report["relevance"]["recall"] == 1.0


def test_warc_has_one_response_per_raw_page_with_the_page_as_served(archive, cli, tmp_path):
    config, site = archive
    target = tmp_path / "pages.warc.gz"
    code, out, err = cli("--config", str(config), "export", "--format", "warc", "-o", str(target))
    pages = {r[0]: r for r in query(
        config, "SELECT 'tw-' || a.id, p.fetched_url, p.http_status, p.content_type FROM raw_pages p "
                f"JOIN articles a ON a.id = p.article_id WHERE {NEWS}")}
    assert code == 0 and out == "" and err.strip() == f"exported {len(pages)} articles"
    assert target.read_bytes()[:2] == b"\x1f\x8b"  # gzip members
    with open(target, "rb") as f:
        items = [(r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
                 for r in ArchiveIterator(f)]
    assert items[0][0] == "warcinfo" and b"techwatch" in items[0][3]
    assert items[0][1].protocol == "WARC/1.0"
    responses = items[1:]
    assert len(responses) == len(pages) >= 10
    for kind, warc, http, body in responses:
        article_id, url, status, content_type = pages[warc.get_header("Techwatch-Article-Id")]
        assert kind == "response" and warc.get_header("WARC-Target-URI") == url
        assert http.get_statuscode() == str(status) and http.get_header("Content-Type") == \
            content_type
        assert body == site.fixture(urlsplit(url).path.lstrip("/"))  # the bytes the site sent
        assert warc.get_header("WARC-Date").startswith("2026-11-2")


def test_warc_skips_articles_without_a_raw_page_and_needs_a_file(archive, cli, tmp_path):
    with copy_archive(archive, tmp_path / "copy") as config:
        warc_skips(config, cli, tmp_path)


def warc_skips(config: Path, cli, tmp_path: Path) -> None:
    engine = engine_of(config)
    with engine.begin() as db:
        first, second = (r[0] for r in db.execute(statement(
            "SELECT article_id FROM raw_pages ORDER BY article_id LIMIT 2")))
        db.execute(statement("DELETE FROM raw_pages WHERE article_id = ?", first))  # e.g. pruned
        db.execute(statement("UPDATE raw_pages SET html_gz = ? WHERE article_id = ?",
                             b"\x00\xff", second))
    engine.dispose()
    total = query(config, f"SELECT count(*) FROM articles WHERE {NEWS}")[0][0]
    target = tmp_path / "pages.warc.gz"
    code, _, err = cli("--config", str(config), "export", "--format", "warc", "-o", str(target))
    assert code == 0 and err.splitlines()[-1] == \
        f"exported {total - 2} articles; 2 without a raw page skipped"
    assert f"raw page of tw-{second} skipped" in err and "Traceback" not in err
    with open(target, "rb") as f:
        ids = [r.rec_headers.get_header("Techwatch-Article-Id") for r in ArchiveIterator(f)
               if r.rec_type == "response"]
    assert len(ids) == total - 2 and not {f"tw-{first}", f"tw-{second}"} & set(ids)

    code, out, err = cli("--config", str(config), "export", "--format", "warc")
    assert code == 1 and out == "" and "needs --output FILE" in err and len(err.splitlines()) == 1


def test_unwritable_output_is_one_line(archive, cli, tmp_path):
    config, _ = archive
    code, out, err = cli("--config", str(config), "export", "-o", str(tmp_path / "no" / "x.jsonl"))
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.strip() == f"techwatch: export: cannot write {tmp_path / 'no' / 'x.jsonl'}: " \
                          "No such file or directory"


def test_broken_pipe_ends_quietly(archive, tmp_path):
    """A reader that stops after one line (`| head -1`) of an export far larger than a pipe's
    buffer: the writer meets a closed pipe mid-stream, and stops without a word."""
    with copy_archive(archive, tmp_path / "copy") as config:
        broken_pipe(config)


def broken_pipe(config: Path) -> None:
    engine = engine_of(config)
    with engine.begin() as db:
        for n in range(40):  # ~15 pages of text each time: megabytes of JSON Lines
            db.execute(statement(
                "INSERT INTO articles (source_id, url, canonical_url, title, summary, text, "
                "first_seen, state, fetch_fulltext, attempts, relevant, topics, lang) "
                "SELECT source_id, url, canonical_url || '#' || ?, title, summary, text, "
                "first_seen, state, fetch_fulltext, attempts, relevant, topics, lang "
                f"FROM articles WHERE {NEWS} AND canonical_url NOT LIKE '%#%'", str(n)))
    engine.dispose()
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "export"],
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = json.loads(process.stdout.readline())
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert first["id"].startswith("tw-")
    assert process.returncode == 0, err
    assert b"Traceback" not in err and b"BrokenPipeError" not in err and b"Exception" not in err
    assert b"exported" not in err  # it did stop early: the reader was gone
