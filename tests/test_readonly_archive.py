"""The archive where it cannot be written (another user's, a backup) or where it is damaged:
reading commands read a read-only archive without writing a byte; a damaged file is said once,
in one line naming it, exit 2, whether a reading command or a poll meets it."""

import ctypes
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import FIXED_NOW, ROOT, write_config
from newsite import MANIFEST, news_sources, serve_news_site
from sitesrv import Reply, Site

from bot.cli import main
from bot.store import open_archive
from bot.store.database import migrate

READING = (["status"], ["search", "Japan", "--json"], ["export"], ["stats", "--json"])


@pytest.fixture(scope="module")
def archived(tmp_path_factory) -> Path:
    """A real archive: the fixture news site polled once (made once for the module)."""
    site = Site().start()
    try:
        serve_news_site(site)
        config = write_config(tmp_path_factory.mktemp("made"), news_sources(site))
        assert main(["--config", str(config), "poll"], now=lambda: FIXED_NOW) == 0
    finally:
        site.stop()
    return config.parent / "techwatch.db"


def copy_archive(archived: Path, directory: Path) -> Path:
    """A config in `directory` whose archive is a copy of the made one (no sources: nothing
    polls)."""
    config = write_config(directory, [])
    shutil.copy(archived, directory / "techwatch.db")
    return config


def _no_root_override() -> None:
    """In the child, before exec: root's power to write what permissions refuse is dropped from
    the capability bounding set (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER), so a
    read-only file is read-only for it too, as for any other user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_unprivileged(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TECHWATCH_"))}
    try:
        return subprocess.run(list(args), capture_output=True, text=True, cwd=ROOT, env=env,
                              timeout=120, preexec_fn=_no_root_override if os.geteuid() == 0
                              else None)
    except subprocess.SubprocessError as e:
        if "preexec_fn" in str(e):
            pytest.skip("cannot drop root's permission override here (no CAP_SETPCAP)")
        raise


def fingerprint(directory: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("read_only_directory", [True, False], ids=["directory", "file"])
def test_reading_commands_read_an_archive_they_may_not_write(archived, tmp_path,
                                                            read_only_directory):
    """Another user's archive (its directory read-only too) or a backup (the file read-only):
    status, search, export and stats work, and leave it as it was."""
    config = copy_archive(archived, tmp_path / "ro")
    database = tmp_path / "ro" / "techwatch.db"
    database.chmod(0o444)
    if read_only_directory:
        database.parent.chmod(0o555)
    before = fingerprint(database.parent)
    try:
        probe = run_unprivileged(sys.executable, "-c", f"open({str(database)!r}, 'ab')")
        assert probe.returncode != 0 and "PermissionError" in probe.stderr  # honest: refused
        commands = READING if read_only_directory else READING[:1]
        for command in commands:
            result = run_unprivileged(sys.executable, "-m", "bot", "--config", str(config),
                                      *command)
            assert result.returncode == 0, (command, result.stderr)
            assert "Traceback" not in result.stderr and "readonly" not in result.stderr
            if command[0] == "status":
                relevant = sum(a.get("relevant", False) for a in MANIFEST["articles"])
                assert "Archive: " in result.stdout and "en-rss2" in result.stdout, relevant
            elif command[0] == "search":
                assert any(json.loads(line)["source"].startswith("Fixture")
                           for line in result.stdout.splitlines())
            elif command[0] == "export":
                assert len(result.stdout.splitlines()) == len(MANIFEST["articles"])
            else:
                assert json.loads(result.stdout)
        if read_only_directory:
            assert fingerprint(database.parent) == before  # not a byte, not a file more
        else:
            assert fingerprint(database.parent)["techwatch.db"] == before["techwatch.db"]
    finally:
        database.parent.chmod(0o755)


def test_a_reading_open_writes_nothing_and_refuses_to(archived, tmp_path):
    """Even where the file could be written: a reading command's connections are query-only,
    so it never takes the write lock a running daemon holds, nor changes a byte."""
    copy_archive(archived, tmp_path)
    url = f"sqlite:///{tmp_path / 'techwatch.db'}"
    before = fingerprint(tmp_path)
    archive = open_archive(url, read_only=True)
    assert archive.read_only and archive.counts()["articles"] == len(MANIFEST["articles"])
    with pytest.raises(sa.exc.OperationalError, match="readonly"), archive.engine.begin() as db:
        db.exec_driver_sql("DELETE FROM fetch_log")
    archive.close()
    assert fingerprint(tmp_path) == before


def test_a_reading_command_upgrades_an_older_archive_it_may_write(archived, tmp_path, cli):
    config = copy_archive(archived, tmp_path)
    archive = open_archive(f"sqlite:///{tmp_path / 'techwatch.db'}")
    migrate(archive.engine, "0009", down=True)  # as an earlier techwatch left it
    archive.close()
    code, out, err = cli("--config", str(config), "search", "Japan", "--json")
    assert code == 0 and out and "Traceback" not in err


# --- damaged -----------------------------------------------------------------------------

PAGE = 4096


def damage(database: Path, *tables: str) -> None:
    """Overwrite the pages of these b-trees (found with SQLite's dbstat) with junk, as a disk
    or a careless copy would: the file opens, and breaks where they are read or written."""
    with closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = [n for (n,) in db.execute(
            f"SELECT pageno FROM dbstat WHERE name IN ({','.join('?' * len(tables))})", tables)]
    assert pages and size == PAGE
    with open(database, "r+b") as file:
        for number in pages:
            file.seek((number - 1) * size)
            file.write(bytes((7 * i + number) % 251 for i in range(size)))


def damaged_lines(err: str, database: Path) -> list[str]:
    lines = [line for line in err.splitlines() if "damaged" in line]
    assert len(lines) == 1, err
    assert str(database) in lines[0] and ".recover" in lines[0], lines[0]
    assert "Traceback" not in err and "internal error" not in err, err
    return lines


@pytest.mark.parametrize("command", READING, ids=" ".join)
def test_a_reading_command_on_a_damaged_archive_says_so_once(archived, tmp_path, cli, command):
    config = copy_archive(archived, tmp_path)
    damage(tmp_path / "techwatch.db", "articles")
    code, _, err = cli("--config", str(config), *command)
    assert code == 2, err
    damaged_lines(err, tmp_path / "techwatch.db")
    assert len(err.strip().splitlines()) == 1, err


def test_a_file_that_is_no_database_is_said_to_be_damaged(tmp_path, cli):
    config = write_config(tmp_path, [])
    (tmp_path / "techwatch.db").write_bytes(b"SQLite format 3\x00" + b"\x07" * 40000)
    for command in (["status"], ["poll"]):
        code, _, err = cli("--config", str(config), *command)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        damaged_lines(err, tmp_path / "techwatch.db")


def pending_behind_a_damaged_index(site: Site, tmp_path: Path) -> tuple[Path, list]:
    """An archive whose articles wait for a second try (their pages were down), its full-text
    index since damaged, and the site back: (config, the waiting articles and attempts)."""
    serve_news_site(site)
    pages = {a["path"]: site.routes[a["path"]] for a in MANIFEST["articles"]}
    for path in pages:
        site.route(path, Reply(503, b"down for maintenance"))
    config = write_config(tmp_path, news_sources(site))
    assert main(["--config", str(config), "poll"], now=lambda: FIXED_NOW) == 0
    with closing(sqlite3.connect(tmp_path / "techwatch.db")) as db:
        waiting = db.execute("SELECT id, attempts FROM articles WHERE state = 'pending' "
                             "ORDER BY id").fetchall()
    assert len(waiting) >= 10 and all(attempts == 1 for _, attempts in waiting)
    site.routes.update(pages)  # the site is back
    damage(tmp_path / "techwatch.db", "articles_fts_data", "articles_fts_idx")
    return config, waiting


def still_waiting(database: Path) -> list:
    with closing(sqlite3.connect(database)) as db:
        return db.execute("SELECT id, attempts FROM articles WHERE state = 'pending' "
                          "ORDER BY id").fetchall()


def test_a_poll_stops_at_the_first_damage_and_costs_no_article_an_attempt(tmp_path):
    """The second poll stops at the first article that meets the damage, in one line, instead
    of one "internal error" per article, each counted as an attempt."""
    site = Site().start()
    try:
        config, waiting = pending_behind_a_damaged_index(site, tmp_path)
        code, err = poll_output(["--config", str(config), "poll"], FIXED_NOW + timedelta(hours=2))
    finally:
        site.stop()
    assert code == 2
    damaged_lines(err, tmp_path / "techwatch.db")
    assert still_waiting(tmp_path / "techwatch.db") == waiting  # none spent, none lost


def test_the_service_stops_at_a_damaged_archive_in_one_line(tmp_path):
    """`techwatch run` does not log the damage every tick for ever: it says so once and exits 2
    (a supervisor shows a service that stopped; one that keeps running hides it)."""
    site = Site().start()
    try:
        config, waiting = pending_behind_a_damaged_index(site, tmp_path)
        process = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "run"],
                                 env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
                                 capture_output=True, text=True)
    finally:
        site.stop()
    assert process.returncode == 2, process.stderr
    damaged_lines(process.stderr, tmp_path / "techwatch.db")
    assert "techwatch stops" in process.stderr
    assert still_waiting(tmp_path / "techwatch.db") == waiting


def poll_output(args: list[str], now) -> tuple[int, str]:
    """Run `techwatch ARGS` in-process with its standard error captured."""
    import io
    from contextlib import redirect_stderr

    buffer = io.StringIO()
    with redirect_stderr(buffer):
        code = main(args, now=lambda: now)
    return code, buffer.getvalue()


def test_a_damaged_file_is_refused_for_every_use_after_the_first(archived, tmp_path):
    from bot.errors import ArchiveDamaged

    copy_archive(archived, tmp_path)
    damage(tmp_path / "techwatch.db", "articles")
    archive = open_archive(f"sqlite:///{tmp_path / 'techwatch.db'}")
    with pytest.raises(ArchiveDamaged, match="is damaged"):
        archive.counts()
    with pytest.raises(ArchiveDamaged):  # sources are intact, but nothing more is touched
        archive.source_rows()
    archive.close()
    assert stat.S_ISREG((tmp_path / "techwatch.db").stat().st_mode)
