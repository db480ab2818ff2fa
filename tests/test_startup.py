"""Start-up: each command loads only what it uses. A fresh interpreter runs the command and
reports the modules it loaded; Slack, Alembic, matplotlib, trafilatura and numpy (py3langid's)
are for the commands that need them. How fast that is, is measured in benchmarks/startup.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import write_config

from bot.store.database import migrate, migration_revisions, open_archive

HEAVY = ("slack_sdk", "slack_bolt", "alembic", "matplotlib", "trafilatura", "numpy",
         "py3langid", "httpx")
PROBE = """
import json, sys
from bot.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as e:
    code = e.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def run_command(tmp_path: Path, *args: str, stdin: str = "") -> tuple[int, str, set[str]]:
    """`techwatch ARGS` in a new interpreter: exit code, standard output, top-level packages
    loaded by the end."""
    report = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TECHWATCH_", "SLACK_"))}
    done = subprocess.run([sys.executable, "-c", PROBE, str(report), *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert report.exists(), done.stderr
    result = json.loads(report.read_text())
    return result["code"], done.stdout, {m.split(".")[0] for m in result["modules"]}


def test_help_lists_every_command_and_loads_no_library(tmp_path):
    code, out, loaded = run_command(tmp_path, "--help")
    assert code == 0
    for command in ("run", "digest", "add", "backfill", "poll", "search", "status", "serve",
                    "feedback", "health", "sources", "export", "stats", "classify", "eval"):
        assert f"\n    {command} " in out or f"\n    {command}\n" in out
    assert not loaded & {*HEAVY, "sqlalchemy", "rich", "asyncio"}, loaded & {*HEAVY, "rich"}


def test_classify_and_eval_load_neither_the_archive_nor_slack(tmp_path):
    config = str(write_config(tmp_path, []))
    item = {"id": "1", "title": "Japan and US deepen chip cooperation", "lang": "en",
            "text": "Rapidus and IBM will co-develop 2nm semiconductors in Hokkaido."}
    code, out, loaded = run_command(tmp_path, "--config", config, "classify",
                                    stdin=json.dumps(item) + "\n")
    assert code == 0 and json.loads(out)["id"] == "1"
    assert not loaded & {*HEAVY, "sqlalchemy"}
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text(json.dumps({**item, "relevant": True, "topics": []}) + "\n")
    code, out, loaded = run_command(tmp_path, "--config", config, "eval", str(labeled))
    assert code == 0 and out.strip()
    assert not loaded & {*HEAVY, "sqlalchemy"}


def test_search_of_a_current_archive_loads_no_alembic(tmp_path):
    from bot.app import load_app

    config = write_config(tmp_path, [])
    load_app(str(config), {}).close()  # a writing command made the archive, with the seeds
    code, out, loaded = run_command(tmp_path, "--config", str(config), "search", "semiconductor",
                                    "--json")
    assert code == 0 and '"source": "Seed documents"' in out
    assert not loaded & set(HEAVY)
    code, out, loaded = run_command(tmp_path, "--config", str(config), "search", "semiconductor")
    assert code == 0 and "Seed" in out  # the table (rich), still no Slack or Alembic
    assert not loaded & set(HEAVY)


def test_a_writing_command_on_a_current_archive_loads_no_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'techwatch.db'}"
    open_archive(url).close()
    probe = ("import sys; from bot.store.database import open_archive; "
             f"open_archive({url!r}).close(); print('alembic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == "False"


def test_an_older_archive_is_still_upgraded_by_a_search(tmp_path):
    """The cheap check must not take an older schema for the current one: Alembic runs."""
    config = write_config(tmp_path, [])
    archive = open_archive(f"sqlite:///{tmp_path / 'techwatch.db'}")
    migrate(archive.engine, "0009", down=True)
    archive.close()
    code, _, loaded = run_command(tmp_path, "--config", str(config), "search", "anything")
    assert code == 0 and "alembic" in loaded
    heads = migration_revisions()[1]
    with archive_connection(tmp_path) as db:
        assert {row[0] for row in db.execute("SELECT version_num FROM alembic_version")} == heads


def test_the_cheap_head_is_alembics_head():
    from alembic.script import ScriptDirectory

    from bot.store.database import _alembic_config

    script = ScriptDirectory.from_config(_alembic_config())
    revisions, heads = migration_revisions()
    assert heads == set(script.get_heads()) and len(heads) == 1
    assert revisions == {r.revision for r in script.walk_revisions()}


def archive_connection(directory: Path):
    import sqlite3
    from contextlib import closing

    return closing(sqlite3.connect(directory / "techwatch.db"))


def test_the_taxonomy_is_compiled_on_its_first_scan_not_when_read(tmp_path):
    """A search or status start-up reads the topics (a broken file still stops it: test_config)
    but compiles none of their regular expressions."""
    from bot.app import load_classifier
    from bot.config import load_settings

    classifier = load_classifier(load_settings(write_config(tmp_path, []), {}))
    assert "_scans" not in vars(classifier.taxonomy.lexicon)
    found = classifier.classify("Japan and the US deepen semiconductor cooperation",
                                "Rapidus and IBM of the United States will co-develop 2nm "
                                "semiconductors in Japan under a bilateral agreement.")
    assert "_scans" in vars(classifier.taxonomy.lexicon)
    assert "semiconductors" in found.topics
