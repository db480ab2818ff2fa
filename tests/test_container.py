"""The image's build context and health endpoint, read from the Dockerfile and .dockerignore as
Docker reads them (no engine needed), and the health host's environment override."""

from __future__ import annotations

import fnmatch
import re

import pytest
from conftest import ROOT, write_config

from bot.config import load_settings
from bot.errors import ConfigError


def ignored(name: str, patterns: list[str]) -> bool:
    """Docker's rule for a top-level path: the last pattern that matches it decides."""
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if fnmatch.fnmatchcase(name, pattern.lstrip("!").rstrip("/")):
            verdict = not negated
    return verdict


def test_the_build_context_holds_what_the_dockerfile_copies_and_nothing_else():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = {src for line in re.findall(r"^COPY (.+)$", dockerfile, re.M)
              for src in line.split()[:-1]}
    assert copied and not [c for c in copied if ignored(c, patterns)]
    for name in (".git", "data", ".ci", ".venv", "build", "tests", "benchmarks", "techwatch.db"):
        assert ignored(name, patterns), name


def test_the_image_serves_health_on_every_address_of_its_port():
    dockerfile = (ROOT / "Dockerfile").read_text()
    port = re.search(r"TECHWATCH_HEALTH_PORT=(\d+)", dockerfile).group(1)
    assert re.search(rf"^EXPOSE {port}$", dockerfile, re.M)
    assert "TECHWATCH_HEALTH_HOST=0.0.0.0" in dockerfile


def test_the_health_host_comes_from_the_environment(tmp_path):
    config = write_config(tmp_path, [])
    env = {"TECHWATCH_HEALTH_HOST": "0.0.0.0", "TECHWATCH_HEALTH_PORT": "9100"}
    assert load_settings(config, env).health.host == "0.0.0.0"
    assert load_settings(config, {}).health.host == "127.0.0.1"
    with pytest.raises(ConfigError, match="TECHWATCH_HEALTH_HOST: not a host"):
        load_settings(config, {"TECHWATCH_HEALTH_HOST": "0.0.0.0; rm -rf /"})


def test_the_health_check_asks_loopback_when_the_daemon_listens_everywhere(tmp_path, site, cli):
    from sitesrv import Reply

    site.route("/healthz", Reply(200, b"ok worker w\n", headers={"Content-Type": "text/plain"}))
    port = int(site.url("/").rsplit(":", 1)[1].strip("/"))
    config = write_config(tmp_path, [], extra=f"[health]\nport = {port}\nhost = \"0.0.0.0\"\n")
    code, out, _ = cli("--config", str(config), "health")
    assert code == 0 and f"http://127.0.0.1:{port}/healthz: 200 ok" in out
