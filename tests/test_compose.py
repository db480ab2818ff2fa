"""docker-compose.yml, ready to copy: validated by Compose itself where a client is installed."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import ROOT


def compose(*args: str, **env: str) -> subprocess.CompletedProcess:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True).returncode == 0:
        command = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose"]
    else:
        pytest.skip("no Docker Compose client here (docker compose or docker-compose)")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SLACK_"))}
    return subprocess.run([*command, "-f", str(ROOT / "docker-compose.yml"), *args],
                          capture_output=True, text=True, env={**clean, **env}, cwd=ROOT,
                          timeout=60)


def test_the_compose_file_is_valid_with_postgres_two_workers_and_the_slack_app():
    result = compose("config", POSTGRES_PASSWORD="s3cret", SLACK_BOT_TOKEN="xoxb-1")
    assert result.returncode == 0, result.stderr
    config = result.stdout
    for service in ("postgres:", "worker:", "slack:"):
        assert f"\n  {service}\n" in config
    assert "replicas: 2" in config and "condition: service_healthy" in config
    assert config.count("TECHWATCH_DATABASE_URL: postgresql+psycopg://techwatch:s3cret@"
                        "postgres:5432/techwatch") == 2  # the workers and the Slack app
    assert "- serve" in config and "- run" in config


def test_the_compose_file_refuses_to_start_without_a_database_password():
    result = compose("config", "-q")
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr
