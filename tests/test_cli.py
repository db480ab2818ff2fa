"""Thin CLI, tested docs: every command has --help, every setting is in the README."""

import subprocess
import sys
from dataclasses import fields

import pytest
from conftest import ROOT, write_config
from slackstub import TOKEN

from bot.cli import build_parser
from bot.config import SECTIONS

COMMANDS = [["run"], ["poll"], ["search"], ["status"], ["sources"], ["sources", "check"],
            ["classify"], ["eval"], ["digest"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: techwatch" in capsys.readouterr().out


def test_python_dash_m_bot_works():
    result = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0 and "run" in result.stdout and "search" in result.stdout


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for section, cls in SECTIONS.items():
        for field in fields(cls):
            assert f"`{section}.{field.name}`" in readme, f"{section}.{field.name}"
    from bot.config import AlertChannel, DigestChannel, SlackSettings, WatchChannel

    for field in fields(SlackSettings):
        if field.name not in ("digests", "alerts", "watches"):
            assert f"`slack.{field.name}`" in readme, field.name
    for table, cls in (("digests", DigestChannel), ("alerts", AlertChannel),
                       ("watches", WatchChannel)):
        for field in fields(cls):
            assert f"slack.{table}[]" in readme and f"{field.name}" in readme, field.name
    for key in ("TECHWATCH_CONFIG", "TECHWATCH_DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_API_URL"):
        assert key in readme


def test_shipped_config_lists_every_setting_with_its_default():
    import tomllib

    shipped = tomllib.loads((ROOT / "config" / "techwatch.toml").read_text(encoding="utf-8"))
    for section, cls in SECTIONS.items():
        for field in fields(cls):
            if field.name == "user_agent":
                continue  # carries the version; documented in the README
            value = shipped[section][field.name]  # a TOML list is read as a tuple
            assert (tuple(value) if isinstance(value, list) else value) == field.default, \
                f"{section}.{field.name}"
    from bot.config import SlackSettings

    for field in fields(SlackSettings):
        if field.name not in ("digests", "alerts", "watches"):
            default = field.default
            assert shipped["slack"][field.name] == (list(default) if isinstance(default, tuple)
                                                    else default), field.name


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["frobnicate"])
    assert exit_.value.code == 2


def test_since_accepts_durations_and_dates():
    from datetime import UTC, datetime, timedelta

    from bot.errors import TechwatchError
    from bot.since import parse_since

    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("24h", now) == now - timedelta(hours=24)
    assert parse_since("2w", now) == now - timedelta(weeks=2)
    assert parse_since("2025-01-31", now) == datetime(2025, 1, 31, tzinfo=UTC)
    with pytest.raises(TechwatchError, match="--since 'lately'"):
        parse_since("lately", now)
    with pytest.raises(TechwatchError, match="too far back"):
        parse_since("99999999d", now)


def test_serve_says_in_one_line_what_it_lacks(tmp_path, cli, monkeypatch):
    config = write_config(tmp_path, [])
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    code, _, err = cli("--config", str(config), "serve")
    assert code == 2 and "SLACK_BOT_TOKEN is not set" in err and "Traceback" not in err
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    code, _, err = cli("--config", str(config), "serve", "--port", "0")
    assert code != 0 and "--port 0 serves nothing without SLACK_APP_TOKEN" in err
    assert "xoxb-test" not in err


def test_serve_refuses_a_token_slack_refuses(tmp_path, cli, slack, monkeypatch):
    """Else every command would get Bolt's "reinstall this app" answer."""
    config = write_config(tmp_path, [])
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-the-token-1234")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s" * 32)
    code, _, err = cli("--config", str(config), "serve", "--port", "0")
    assert code == 2 and "serve: Slack refuses SLACK_BOT_TOKEN: invalid_auth" in err
    assert "xoxb-not-the-token" not in err and "Traceback" not in err
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)  # the right one, and no signing secret
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    code, _, err = cli("--config", str(config), "serve", "--port", "3999")
    assert code == 2 and "HTTP endpoint needs SLACK_SIGNING_SECRET" in err


def test_health_check_answers_in_one_line_whatever_listens_on_the_port(tmp_path, site, cli):
    from sitesrv import Reply

    site.route("/healthz", Reply(503, b"<html>\n<body>\n<h1>Some other server</h1>\n</body>\n"
                                      b"</html>\n", headers={"Content-Type": "text/html"}))
    port = int(site.url("/").rsplit(":", 1)[1].strip("/"))
    config = write_config(tmp_path, [], extra=f"[health]\nport = {port}\nhost = \"127.0.0.1\"\n")
    code, out, _ = cli("--config", str(config), "health")
    assert code == 1 and out.count("\n") == 1 and "503 <html> <body> <h1>Some other" in out


def test_a_stop_while_starting_is_one_line(tmp_path, cli, monkeypatch):
    import bot.cli
    from bot.cli import Terminated

    def stopped(*args, **kwargs):
        raise Terminated  # SIGTERM while the archive is being migrated or seeded

    monkeypatch.setattr(bot.cli, "load_app", stopped)
    code, _, err = cli("--config", str(write_config(tmp_path, [])), "status")
    assert code == 143 and err.strip() == "techwatch: terminated"


def test_with_json_logs_a_commands_error_is_a_json_line_too(tmp_path, cli):
    import json

    config = write_config(tmp_path, [])
    code, _, err = cli("--log-format", "json", "--config", str(config), "add",
                       "http://127.0.0.1:9/x.html?token=xoxb-1234-5678-abcdefabcdef")
    lines = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    assert code == 1 and any(x["level"] == "error" and "add: " in x["message"] for x in lines)
    assert "xoxb-" not in err


def test_reading_an_archive_that_is_not_there_says_so_and_makes_nothing(tmp_path, cli,
                                                                         monkeypatch):
    """A mistyped storage.database would show an empty archive as if it were the real one, and
    leave a file (and directories) behind; a new install's search still finds the seeds."""
    config = str(write_config(tmp_path, []))
    code, out, err = cli("--config", config, "search", "semiconductor", "--json")
    assert code == 0 and f"there is no archive at {tmp_path / 'techwatch.db'} yet" in err
    assert '"source": "Seed documents"' in out  # read in memory
    typo = tmp_path / "no" / "such" / "dir" / "x.db"
    monkeypatch.setenv("TECHWATCH_DATABASE_URL", f"sqlite:///{typo}")
    for command in (["status"], ["search", "Japan"], ["export"], ["stats"]):
        code, _, err = cli("--config", config, *command)
        assert code == 0 and f"there is no archive at {typo} yet" in err, command
    assert not (tmp_path / "no").exists() and not (tmp_path / "techwatch.db").exists()
    monkeypatch.delenv("TECHWATCH_DATABASE_URL")
    other = tmp_path / "first"
    code, _, err = cli("--config", str(write_config(other, [])), "poll")
    assert code == 0 and "no archive" not in err  # a first run makes one, as it should
    assert (other / "techwatch.db").exists()
