"""Shared fixtures: a local news site, a config in a temporary directory, the CLI in-process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sitesrv import Site

ROOT = Path(__file__).resolve().parents[1]
FIXED_NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # the fixture site's stories are of the week before
SHARED = Path(os.environ.get("TECHWATCH_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` (a minute or more, mostly waiting) first, each followed by an ordinary
    one: a parallel run (pytest -n, which hands each worker two tests at a time) starts every
    slow test at once on its own worker, so none of them begins last and sets the wall time."""
    slow = [item for item in items if item.get_closest_marker("slow")]
    if not slow:
        return
    rest = [item for item in items if not item.get_closest_marker("slow")]
    paired = [x for pair in zip(slow, rest, strict=False) for x in pair]
    items[:] = paired + slow[len(rest):] + rest[len(slow):]


def need_corpus(*parts: str) -> Path:
    """The path of a real-world corpus file, or skip: the corpus is third-party data read in
    place from ../shared (or $TECHWATCH_SHARED), never copied into the project."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real-world corpus not found at {path} (set TECHWATCH_SHARED)")
    return path


DIALECTS = ["sqlite", "postgresql"]
# a test that needs an archive but whose subject is not the store (signatures, transports): on
# SQLite only, where a fixture it uses takes database_url
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@contextmanager
def empty_database(dialect: str, directory: Path, name: str = "techwatch.db") -> Iterator[str]:
    """An empty archive's URL: an SQLite file in `directory` (not made yet), or a throwaway
    PostgreSQL database holding the current schema (as the first command would leave it)."""
    if dialect == "sqlite":
        yield f"sqlite:///{directory / name}"
        return
    from pgdb import current_schema, throwaway_database

    with throwaway_database(template=current_schema()) as url:
        yield url


@pytest.fixture(params=DIALECTS)
def database_url(request, tmp_path) -> Iterator[str]:
    """An empty archive's URL on each backend: an SQLite file, a throwaway PostgreSQL database."""
    with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def more_databases(database_url, tmp_path) -> Iterator:
    """Another empty archive of database_url's dialect each call (a test of two archives)."""
    from contextlib import ExitStack

    dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    with ExitStack() as stack:
        made = iter(range(1, 1000))
        yield lambda: stack.enter_context(empty_database(dialect, tmp_path, f"more-{next(made)}.db"))


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site().start()
    yield server
    server.stop()


def write_config(directory: Path, sources: list[dict], extra: str = "",
                 database: str | None = None) -> Path:
    """A techwatch.toml + sources.toml in `directory`, with the shipped taxonomy and seeds and
    no politeness delay (the server is local); the archive at `database`, else a file there."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for source in sources:
        lines.append("[[sources]]")
        lines += [f"{k} = {_toml(v)}" for k, v in source.items()]
        lines.append("")
    (directory / "sources.toml").write_text("\n".join(lines), encoding="utf-8")
    config = directory / "techwatch.toml"
    config.write_text(
        f'topics = "{ROOT / "config" / "topics.toml"}"\nseeds = "{ROOT / "seeds"}"\n'
        f'[storage]\ndatabase = "{database or "sqlite:///" + str(directory / "techwatch.db")}"\n'
        "[fetch]\nper_host_delay_seconds = 0\nper_host_concurrency = 4\ntimeout_seconds = 3\n"
        "[extract]\nworkers = 2\n" + extra, encoding="utf-8")
    return config


def run_once(config: Path, now: datetime = FIXED_NOW) -> None:
    """`techwatch -q run --once` in-process at `now`, whatever the environment names (a module
    fixture's archive: the `cli` fixture is per test)."""
    from bot.cli import main

    with pytest.MonkeyPatch.context() as env:
        for name in ("TECHWATCH_CONFIG", "TECHWATCH_DATABASE_URL", "SLACK_BOT_TOKEN"):
            env.delenv(name, raising=False)
        assert main(["--config", str(config), "-q", "run", "--once"], now=lambda: now) == 0


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `techwatch ARGS` in-process; returns (exit code, stdout, stderr)."""
    from bot.cli import main

    monkeypatch.delenv("TECHWATCH_CONFIG", raising=False)
    monkeypatch.delenv("TECHWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args), now=lambda: FIXED_NOW)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def slack(monkeypatch):
    """The Slack Web API stand-in, with channels C0DIGEST, C0ALERTS and C0OPS."""
    from slackstub import SlackStub

    stub = SlackStub(channels=("C0DIGEST", "C0ALERTS", "C0OPS"))
    monkeypatch.setenv("SLACK_API_URL", stub.url)
    yield stub
    stub.stop()


@pytest.fixture
def token(monkeypatch):
    from slackstub import TOKEN

    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
