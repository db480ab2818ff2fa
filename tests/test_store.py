"""The archive: migrations match the tables, reopening is harmless, search ranks by relevance."""

import json
import sqlite3
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.models import ArticleDraft, Classification, ExtractedText, PollOutcome, Source
from bot.store import open_archive
from bot.store.schema import managed_by_alembic, metadata

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def draft(i: int, title: str, summary: str) -> ArticleDraft:
    url = f"https://news.example.com/{i}"
    return ArticleDraft(source_id="s", url=url, canonical_url=url, keys=(f"url:{url}",),
                        title=title, summary=summary, guid=None, feed_published=NOW, lang="en",
                        publisher=None, fetch_fulltext=True)


def test_migrations_create_exactly_the_declared_tables(database_url):
    archive = open_archive(database_url)
    with archive.engine.connect() as connection:
        context = MigrationContext.configure(connection,
                                             opts={"include_name": managed_by_alembic})
        diff = compare_metadata(context, metadata)
    archive.close()
    assert diff == []


def test_an_sqlite_archive_is_written_ahead(tmp_path):
    archive = open_archive(f"sqlite:///{tmp_path / 'a.db'}")
    with archive.engine.connect() as connection:
        mode = connection.execute(sa.text("PRAGMA journal_mode")).scalar_one()
    archive.close()
    assert mode == "wal"


def test_reopening_keeps_everything(database_url):
    url = database_url.replace("techwatch.db", "nested/dir/a.db")  # SQLite: its folders made
    archive = open_archive(url)
    archive.sync_sources([Source("s", "https://news.example.com/feed", "S")])
    outcome = PollOutcome("ok", NOW, etag='"e1"')
    written = archive.record_poll("s", outcome, [draft(1, "Quantum pact", "US and Japan")], NOW)
    assert written.new == 1
    archive.close()
    again = open_archive(url)
    assert again.counts()["articles"] == 1 and again.source_state("s").etag == '"e1"'
    assert again.record_poll("s", outcome, [draft(1, "Quantum pact", "US and Japan")], NOW).new == 0
    again.close()


def test_of_two_items_with_one_link_in_a_feed_the_first_is_the_article(database_url):
    """A diary's sections (#p01, #p02) are one page: its first item whole, not a mix."""
    archive = open_archive(database_url)
    archive.sync_sources([Source("s", "https://news.example.com/feed", "S")])
    drafts = [draft(1, "PHP conference", "The first section."),
              draft(1, "Unicode in PHP 6", "The third section.")]
    for poll in range(2):
        written = archive.record_poll("s", PollOutcome("ok", NOW), drafts, NOW)
        assert (written.new, written.updated) == ((1, 0) if poll == 0 else (0, 0))
    (article,) = archive.pending_articles()
    archive.close()
    assert (article.title, article.summary) == ("PHP conference", "The first section.")


def test_a_story_found_by_search_stands_as_its_relevant_report_with_text(database_url):
    """Not as an aggregator's summary-only item that happens to match the words better."""
    archive = open_archive(database_url)
    archive.sync_sources([Source("s", "https://news.example.com/feed", "S")])
    drafts = [draft(1, "QuEra quantum pact QuEra", "QuEra QuEra."),
              draft(2, "Quantum pact signed", "QuEra and AIST will build a machine.")]
    archive.record_poll("s", PollOutcome("ok", NOW), drafts, NOW)
    summary_only, full = archive.pending_articles()
    archive.complete_article(summary_only, ExtractedText("feed_only"),
                             Classification(False, 0.2, (), {}), published=NOW,
                             date_source="feed", text="", now=NOW)
    archive.complete_article(full, ExtractedText("full", text=full.summary),
                             Classification(True, 0.9, ("quantum",), {}), published=NOW,
                             date_source="feed", text=full.summary, now=NOW)
    with archive.engine.begin() as db:
        db.execute(sa.text("UPDATE articles SET story_id = :s WHERE id IN (:a, :b)"),
                   {"s": full.id, "a": full.id, "b": summary_only.id})
    try:
        (found,) = archive.search("QuEra")
    finally:
        archive.close()
    assert found.id == full.id and found.members == 2


def test_search_ranks_title_matches_first_and_filters(database_url):
    archive = open_archive(database_url)
    archive.sync_sources([Source("s", "https://news.example.com/feed", "S")])
    drafts = [draft(1, "Fusion reactor deal", "A body about chips and more chips."),
              draft(2, "Chips alliance", "Washington and Tokyo chips."),
              draft(3, "Weather", "Rain.")]
    archive.record_poll("s", PollOutcome("ok", NOW), drafts, NOW)
    results = archive.search("chips")
    assert [r.title for r in results] == ["Chips alliance", "Fusion reactor deal"]
    for pending in archive.pending_articles():
        topics = ("semiconductors",) if "Chips" in pending.title else ()
        classification = Classification(bool(topics), 0.9 if topics else 0.1, topics, {})
        archive.complete_article(pending, ExtractedText("full", text=pending.summary),
                                 classification, published=NOW, date_source="feed",
                                 text=pending.summary, now=NOW)
    assert [r.title for r in archive.search("chips", topic="semiconductors")] == ["Chips alliance"]
    assert archive.search("chips", since=datetime(2027, 1, 1, tzinfo=UTC)) == []
    archive.record_poll("s", PollOutcome("ok", NOW), [draft(4, "Old chips story", "Chips.")], NOW)
    (old,) = archive.pending_articles()  # first seen now, published in 2018
    archive.complete_article(old, ExtractedText("full", text="Chips."),
                             Classification(True, 0.9, ("semiconductors",), {}),
                             published=datetime(2018, 1, 31, tzinfo=UTC), date_source="page",
                             text="Chips.", now=NOW)
    recent = datetime(2026, 11, 20, tzinfo=UTC)
    assert [r.title for r in archive.search("chips", since=recent)] == \
        ["Chips alliance", "Fusion reactor deal"]  # since: by publication, not discovery
    assert "Old chips story" in [r.title for r in archive.search("chips")]
    assert {r.title for r in archive.search("weather OR alliance")} == {"Weather",
                                                                        "Chips alliance"}
    assert "Chips alliance" not in {r.title for r in archive.search("chips -tokyo")}
    assert archive.search('"') == []


def test_unusable_database_location_is_a_clear_error(tmp_path, cli):
    from conftest import write_config

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    config = write_config(tmp_path / "c", [])
    config.write_text(config.read_text().replace(str(tmp_path / "c" / "techwatch.db"),
                                                 str(blocker / "sub" / "t.db")))
    code, _, err = cli("--config", str(config), "status")
    assert code == 2 and "database sqlite:///" in err and "Traceback" not in err
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not sqlite" * 100)
    config.write_text(config.read_text().replace(str(blocker / "sub" / "t.db"), str(corrupt)))
    code, _, err = cli("--config", str(config), "status")
    assert code == 2 and "corrupt.db" in err and "Traceback" not in err
    (tmp_path / "a-directory").mkdir()
    config.write_text(config.read_text().replace(str(corrupt), str(tmp_path / "a-directory")))
    code, _, err = cli("--config", str(config), "status")
    assert code == 2 and "unable to open database file (it must be a readable database " \
        "file)" in err  # status only reads
    newer = tmp_path / "newer.db"
    open_archive(f"sqlite:///{newer}").close()
    with sqlite3.connect(newer) as db:  # as a later techwatch would leave it
        db.execute("UPDATE alembic_version SET version_num = '9999_future'")
    config.write_text(config.read_text().replace(str(tmp_path / "a-directory"), str(newer)))
    code, _, err = cli("--config", str(config), "status")
    assert code == 2 and "its schema is not one this version knows" in err
    assert "Traceback" not in err


def test_migrations_go_down_and_up_again_and_upgrade_keeps_data(database_url):
    from bot.store.database import migrate

    archive = open_archive(database_url)
    archive.sync_sources([Source("s", "https://news.example.com/feed", "S")])
    archive.record_poll("s", PollOutcome("ok", NOW), [draft(1, "Kept", "across upgrades")], NOW)
    migrate(archive.engine, "0001", down=True)  # back to the first release's schema
    migrate(archive.engine, "head")
    assert [a.title for a in archive.pending_articles()] == ["Kept"]
    if not archive.shared:  # PostgreSQL's search: branch pgsearch
        assert [a.title for a in archive.search("upgrades")] == ["Kept"]
    migrate(archive.engine, "base", down=True)
    assert set(sa.inspect(archive.engine).get_table_names()) <= {"alembic_version"}
    archive.close()


def test_known_keys_tells_which_items_are_archived_also_past_a_statements_variables(
        database_url):
    archive = open_archive(database_url)
    archive.sync_sources([Source("s", "https://news.example.com/feed", "S")])
    archive.record_poll("s", PollOutcome("ok", NOW), [draft(1, "A", "a"), draft(2, "B", "b")], NOW)
    keys = [k for d in (draft(1, "A", "a"), draft(3, "C", "c")) for k in d.keys]
    assert archive.known_keys(keys) == set(draft(1, "A", "a").keys)
    many = [f"url:https://x.example/{i}" for i in range(40_000)]  # past SQLite's 32,766
    assert archive.known_keys(many + keys[:1]) == {keys[0]}
    archive.close()


def test_an_archive_from_before_document_frequencies_counts_its_seeds_once(database_url):
    archive = open_archive(database_url)
    archive.ensure_seed_source()
    classification = Classification(relevant=True, score=0.9, topics=("quantum",), evidence={})
    archive.add_seed("q", "Quantum pact", "RIKEN and IBM sign a quantum pact in Kobe.",
                     classification, NOW)
    archive.add_seed("c", "Chip hub", "Rapidus and IBM open a chip hub in Hokkaido.",
                     classification, NOW)

    def documents(term: str) -> int | None:
        with archive.engine.connect() as db:
            return db.execute(sa.text("SELECT documents FROM term_documents WHERE term = :t"),
                              {"t": term}).scalar_one_or_none()

    assert documents("") == 2 and documents("ibm") == 2 and documents("kobe") == 1
    with archive.engine.begin() as db:  # as migration 0009 leaves an older archive
        db.execute(sa.text("DELETE FROM term_documents"))
    assert archive.count_seed_documents() == 2
    assert documents("") == 2 and documents("ibm") == 2 and documents("rapidu") == 1
    assert archive.count_seed_documents() == 0 and documents("") == 2  # once
    archive.close()


def test_one_archive_under_two_names_is_still_locked_once(tmp_path):
    import pytest

    from bot.errors import TechwatchError
    from bot.lock import exclusive

    real = tmp_path / "data" / "tw.db"
    open_archive(f"sqlite:///{real}").close()
    (tmp_path / "link.db").symlink_to(real)
    with exclusive(f"sqlite:///{real}"):
        for other in (tmp_path / "link.db", tmp_path / "data" / ".." / "data" / "tw.db"):
            with pytest.raises(TechwatchError, match="in use by techwatch"), \
                    exclusive(f"sqlite:///{other}"):
                pass


def test_seeding_stopped_halfway_is_completed_by_the_next_start(tmp_path, cli, database_url):
    import shutil

    from conftest import ROOT, write_config

    shipped = sorted((ROOT / "seeds").glob("*.txt"))
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for path in shipped[:2]:  # as far as a first start got before it was killed
        shutil.copy(path, seeds)
    config = write_config(tmp_path, [], database=database_url)
    config.write_text(config.read_text().replace(str(ROOT / "seeds"), str(seeds)))
    assert cli("--config", str(config), "poll")[0] == 0  # a start that writes (status reads)
    code, out, _ = cli("--config", str(config), "status", "--json")
    assert code == 0 and json.loads(out)["archive"]["seeds"] == 2
    for path in shipped[2:]:
        shutil.copy(path, seeds)
    assert cli("--config", str(config), "poll")[0] == 0
    code, out, _ = cli("--config", str(config), "status", "--json")
    assert json.loads(out)["archive"]["seeds"] == len(shipped) == 5
    cli("--config", str(config), "poll")
    code, out, _ = cli("--config", str(config), "status", "--json")
    assert json.loads(out)["archive"]["seeds"] == 5  # each once


def test_a_digest_takes_max_stories_stories_not_articles(database_url):
    """A story carried by three outlets is one entry of the digest ("also: ..."), so it uses
    one of max_stories, not three; the story that does not fit is listed (a line), not lost."""
    from bot.analysis import StoryInput
    from bot.config import StorySettings
    from bot.stories.events import story_terms
    from bot.stories.minhash import signature

    archive = open_archive(database_url)
    archive.sync_sources([Source("s", "https://news.example.com/feed", "S")])
    wire = ("Hitachi and Oak Ridge sign fusion blanket pact", "Hitachi and the Oak Ridge "
            "National Laboratory will co-develop lithium breeding blankets for fusion plants, "
            "committing $48 million over five years, the partners said on Monday in Tennessee.")
    texts = [wire, wire, wire,
             ("Rapidus and IBM extend 2nm work", "Rapidus and IBM agreed to extend their joint "
              "2-nanometer chip research at Albany by three years, with new engineers sent."),
             ("NASA and JAXA set lunar rover date", "NASA and JAXA agreed the pressurized lunar "
              "rover will fly on Artemis VII, with two Japanese astronauts landing on the Moon.")]
    archive.record_poll("s", PollOutcome("ok", NOW),
                        [draft(i, t, x) for i, (t, x) in enumerate(texts)], NOW)
    for pending, score in zip(archive.pending_articles(), (0.9, 0.8, 0.7, 0.85, 0.6),
                              strict=True):
        story = StoryInput(signature(f"{pending.title}\n{pending.summary}"),
                           story_terms(pending.title, pending.summary, NOW.date()))
        archive.complete_article(pending, ExtractedText("full", text=pending.summary),
                                 Classification(True, score, ("energy",), {}), published=NOW,
                                 date_source="feed", text=pending.summary, now=NOW,
                                 story=story, rules=StorySettings())
    due = archive.digest_articles("C1", first_seen_after=datetime(2026, 1, 1, tzinfo=UTC),
                                  min_score=0, published_after=datetime(2026, 1, 1, tzinfo=UTC))
    archive.close()
    assert len(due) == 5 and len({a.story_id for a in due}) == 3  # every article of each story
    from test_classify import TAXONOMY

    from bot.digest import build_digest
    from bot.notify.service import story_members

    digest = build_digest(due, TAXONOMY, NOW, NOW, limit=2)
    shown = [a for s in digest.sections for a in s.articles]
    assert sorted(a.title for a in shown) == sorted([wire[0], texts[3][0]])
    assert [a.title for a in digest.more] == [texts[4][0]]  # past the limit: a line
    members = story_members(digest, due)
    wire_lead = next(a for a in shown if a.title == wire[0])
    assert len(members[wire_lead.id]) == 3 and len(members[digest.more[0].id]) == 1
