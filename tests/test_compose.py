"""The Compose files, ready to copy: docker-compose.yml (one node on SQLite) and
docker-compose.postgres.yml (PostgreSQL, two workers, the Slack app), validated by Compose
itself where a client is installed (`docker compose` or `docker-compose`; no engine needed)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import ROOT


def compose(file: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True).returncode == 0:
        command = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose"]
    else:
        pytest.skip("no Docker Compose client here (docker compose or docker-compose)")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SLACK_"))}
    return subprocess.run([*command, "-f", str(ROOT / file), *args],
                          capture_output=True, text=True, env={**clean, **env}, cwd=ROOT,
                          timeout=60)


def test_the_single_node_file_runs_the_daemon_on_sqlite_with_its_archive_on_a_volume():
    result = compose("docker-compose.yml", "config", SLACK_BOT_TOKEN="xoxb-1")
    assert result.returncode == 0, result.stderr
    config = result.stdout
    assert "\n  techwatch:\n" in config and "postgres" not in config.lower()
    assert "- run" in config and "- serve" not in config
    assert "techwatch-data:/app/data" in config  # the SQLite archive outlives the container
    assert "/config:/app/config:ro" in config
    assert "127.0.0.1:9100:9100" in config  # /healthz, /readyz, /metrics for this host only
    assert "SLACK_BOT_TOKEN: xoxb-1" in config  # secrets from the environment
    assert "stop_grace_period: 15s" in config
    assert "healthcheck" not in config  # the image's own: `techwatch health`


def test_the_single_node_file_needs_no_secret_to_start():
    assert compose("docker-compose.yml", "config", "-q").returncode == 0


def test_the_postgres_file_is_valid_with_two_workers_and_the_slack_app():
    result = compose("docker-compose.postgres.yml", "config", POSTGRES_PASSWORD="s3cret",
                     SLACK_BOT_TOKEN="xoxb-1")
    assert result.returncode == 0, result.stderr
    config = result.stdout
    for service in ("postgres:", "worker:", "slack:"):
        assert f"\n  {service}\n" in config
    assert "replicas: 2" in config and "condition: service_healthy" in config
    assert config.count("TECHWATCH_DATABASE_URL: postgresql+psycopg://techwatch:s3cret@"
                        "postgres:5432/techwatch") == 2  # the workers and the Slack app
    assert "- serve" in config and "- run" in config
    # only PostgreSQL's own check is set here: the workers and the Slack app keep the image's
    # (`techwatch serve` answers /healthz too), none is disabled
    assert config.count("healthcheck:") == 1 and "disable" not in config
    assert config.count("stop_grace_period: 15s") == 2


def test_the_postgres_file_refuses_to_start_without_a_database_password():
    result = compose("docker-compose.postgres.yml", "config", "-q")
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr
