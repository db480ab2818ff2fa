"""Where the work of a cycle happens (issue 18): each article is judged in its worker process,
the main process only fetches and writes, writes are batched, a cycle with nothing new starts no
worker, and grouping's document frequencies match the archive's."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

from conftest import FIXED_NOW, ROOT, write_config
from newsite import news_sources, query, serve_news_site

from bot.app import load_app, open_pipeline
from bot.models import ArticleDraft, ExtractedText
from bot.pipeline import CycleReport
from bot.store import open_archive

SUMMARY = "The two governments agreed to fund joint semiconductor research for five years."


def _cycle(config: Path) -> tuple[object, bool]:
    """One cycle in this process: its report, and whether the extraction pool was started."""
    app = load_app(str(config), {}, now=lambda: FIXED_NOW)

    async def cycle():
        async with open_pipeline(app) as pipeline:
            return await pipeline.run()

    try:
        return asyncio.run(cycle()), app._extraction is not None
    finally:
        app.close()


def test_a_cycle_with_nothing_new_starts_no_worker(site, tmp_path):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site))
    report, started = _cycle(config)
    assert started and report.processed >= 15, report.summary()
    unlogged = query(config, "SELECT url FROM articles WHERE extractor_version IS NOT NULL "
                             "AND url NOT IN (SELECT url FROM fetch_log WHERE kind = 'article')")
    assert unlogged == []  # each page's fetch logged, in its article's batch

    report, started = _cycle(config)
    assert report.processed == 0 and report.new_items == 0
    assert not started  # nothing to extract: no forkserver, no workers


def test_articles_completed_while_a_batch_is_written_go_in_the_next_one(tmp_path):
    """The archive's thread writes what completed meanwhile in one transaction: six articles
    judged while it is busy are written in one batch, each with its story."""
    config = write_config(tmp_path, [])
    app = load_app(str(config), {}, now=lambda: FIXED_NOW)
    drafts = [ArticleDraft(source_id="seed", url=f"https://example.com/{i}",
                           canonical_url=f"https://example.com/{i}",
                           keys=(f"https://example.com/{i}",),
                           title=f"Japan and US sign accord number {i} on chips", summary=SUMMARY,
                           guid=None, feed_published=None, lang="en", publisher=None,
                           fetch_fulltext=False) for i in range(6)]
    batches = []
    write = app.archive.complete_articles

    def counted(results, *args, **kwargs):
        batches.append(len(results))
        return write(results, *args, **kwargs)

    app.archive.complete_articles = counted
    busy = threading.Event()

    async def complete_six():
        async with open_pipeline(app) as pipeline:
            app.archive.add_drafts(drafts, FIXED_NOW, origin=None)
            pending = app.archive.pending_articles()
            report = CycleReport()
            hold = pipeline.db(busy.wait)  # the archive's thread is busy meanwhile
            judged = [await pipeline._analyse(a, ExtractedText("feed_only")) for a in pending]
            writes = [asyncio.ensure_future(pipeline._complete(r, report)) for r in judged]
            await asyncio.sleep(0.05)
            busy.set()
            await hold
            await asyncio.gather(*writes)
            return report

    try:
        report = asyncio.run(complete_six())
    finally:
        app.close()
    assert report.processed == 6 and batches == [6]
    grouped = query(config, "SELECT count(*) FROM articles WHERE state = 'done' AND "
                            "story_id IS NOT NULL AND url LIKE 'https://example.com/%'")
    assert grouped == [(6,)]


def test_the_main_process_never_loads_the_extractor(site, tmp_path):
    """Extraction, classification, signatures and terms run in the workers: the main process
    of `techwatch run --once` does not even import trafilatura."""
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site))
    script = ("import sys; from bot.cli import main; code = main(['--config', sys.argv[1], '-q', "
              "'run', '--once']); print(sorted(m for m in ('trafilatura', 'justext', 'htmldate') "
              "if m in sys.modules)); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script, str(config)], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    full = query(config, "SELECT count(*) FROM articles WHERE extraction_status = 'full'")[0][0]
    assert full >= 10  # and yet the pages were extracted


def test_document_frequencies_held_in_memory_are_the_archives(site, tmp_path):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site))
    app = load_app(str(config), {}, now=lambda: FIXED_NOW)

    async def cycle():
        async with open_pipeline(app) as pipeline:
            await pipeline.run()

    try:
        asyncio.run(cycle())
        terms = set()
        for (stored,) in query(config, "SELECT story_terms FROM articles "
                                       "WHERE story_terms IS NOT NULL"):
            data = json.loads(stored)
            terms |= set(data["lead"]) | set(data["body"]) | set(data["names"])
        assert len(terms) > 200
        with app.archive.engine.connect() as db:
            held = app.archive._terms.frequencies(db, terms)
    finally:
        app.close()
    fresh = open_archive(f"sqlite:///{tmp_path / 'techwatch.db'}")
    try:
        with fresh.engine.connect() as db:
            assert held == fresh._terms.frequencies(db, terms)
    finally:
        fresh.close()


def test_an_article_that_cannot_be_written_costs_its_batch_nothing(tmp_path):
    """A batch that fails is rolled back and written again article by article: the one whose
    write fails gets the error (its own task handles it) and stays pending; the others are
    archived with their stories."""
    config = write_config(tmp_path, [])
    app = load_app(str(config), {}, now=lambda: FIXED_NOW)
    drafts = [ArticleDraft(source_id="seed", url=f"https://example.com/{i}",
                           canonical_url=f"https://example.com/{i}",
                           keys=(f"https://example.com/{i}",),
                           title=f"Japan and US sign accord number {i} on chips", summary=SUMMARY,
                           guid=None, feed_published=None, lang="en", publisher=None,
                           fetch_fulltext=False) for i in range(3)]
    busy = threading.Event()

    async def complete_three():
        async with open_pipeline(app) as pipeline:
            app.archive.add_drafts(drafts, FIXED_NOW, origin=None)
            pending = app.archive.pending_articles()
            hold = pipeline.db(busy.wait)
            judged = [await pipeline._analyse(a, ExtractedText("feed_only")) for a in pending]
            broken = judged[1].story.terms
            judged[1] = replace(judged[1], story=replace(
                judged[1].story, terms=replace(broken, lead={"x": object()})))  # unwritable
            report = CycleReport()
            writes = [asyncio.ensure_future(pipeline._complete(r, report)) for r in judged]
            await asyncio.sleep(0.05)
            busy.set()
            await hold
            return await asyncio.gather(*writes, return_exceptions=True), pending

    try:
        outcomes, pending = asyncio.run(complete_three())
    finally:
        app.close()
    assert isinstance(outcomes[1], Exception)
    assert outcomes[0] == pending[0].id and outcomes[2] == pending[2].id
    states = dict(query(config, "SELECT url, state || (story_id IS NOT NULL) FROM articles "
                                "WHERE url LIKE 'https://example.com/%'"))
    assert states == {"https://example.com/0": "done1", "https://example.com/1": "pending0",
                      "https://example.com/2": "done1"}
