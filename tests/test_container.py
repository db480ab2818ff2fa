"""The image, read from the Dockerfile and .dockerignore as Docker reads them (no engine needed):
its build context, its layers and pins, its health check and stop signal; and what a container
asks of the code: the health host from the environment, the workers sized by the container's
CPU limit, a clear line when the mounted data directory is not writable."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import shutil
import tempfile
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, write_config

from bot.config import load_settings
from bot.errors import ConfigError
from bot.extract.cpus import cfs_cpus, cpu_max_cpus, usable_cpus


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


# --- the build: reproducible, and a code change reuses the dependencies' layer ---------------

def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined: (INSTRUCTION, arguments)."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_the_base_image_is_pinned_to_a_patch_release():
    froms = [args for op, args in instructions() if op == "FROM"]
    assert len(froms) == 1 and re.fullmatch(r"python:3\.11\.\d+-slim-\w+", froms[0]), froms


def test_the_dependencies_are_installed_from_pyproject_before_the_code_is_copied():
    steps = instructions()
    deps = next(i for i, (op, args) in enumerate(steps) if op == "RUN" and "pip install" in args)
    code = next(i for i, (op, args) in enumerate(steps) if op == "COPY" and args.startswith("bot"))
    assert deps < code
    copied = {src for op, args in steps[:deps] if op == "COPY" for src in args.split()[:-1]}
    assert copied == {"pyproject.toml", ".ci/constraints.txt"}  # nothing a code change touches
    assert "-c constraints.txt" in steps[deps][1] and "['dependencies']" in steps[deps][1]
    after = [args for op, args in steps[code:] if op == "RUN" and "pip install" in args]
    assert after and all("--no-deps" in args for args in after)


def test_the_constraints_pin_every_dependency_and_theirs():
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (ROOT / ".ci/constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pins[canonicalize_name(name)] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in [*project["dependencies"],
                                       *project["optional-dependencies"]["test"]]]
    seen: set[str] = set()
    while wanted:
        req = wanted.pop()
        name = canonicalize_name(req.name)
        if name in seen or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        assert name in pins, f"{req} is not in .ci/constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req} vs {pins[name]}"
        extras = req.extras
        for sub in metadata.requires(req.name) or []:  # its own, as installed here
            sub_req = Requirement(sub)
            if sub_req.marker is None or any(sub_req.marker.evaluate({"extra": e})
                                             for e in ("", *extras)):
                sub_req.marker = None
                wanted.append(sub_req)
    assert "techwatch" not in pins and pins.get("setuptools")  # the build backend, pinned too


def test_sigterm_stops_the_container_inside_docker_stops_grace():
    from bot import scheduler

    steps = dict(instructions())
    assert steps["STOPSIGNAL"] == "SIGTERM"
    # the shutdown grace, then a second for an abandoned cycle: well inside Docker's 10 s
    assert scheduler.SHUTDOWN_GRACE + 1 <= 5


def test_the_health_check_asks_the_running_command_and_every_command_serves_it():
    steps = dict(instructions())
    assert steps["HEALTHCHECK"].endswith('CMD ["techwatch", "health"]')
    # `run` and `serve` both serve /healthz at [health] port (tests/test_readiness.py)
    assert steps["CMD"] == '["run"]' and steps["ENTRYPOINT"] == '["techwatch"]'


# --- extract.workers = 0 in a container: its CPU limit, not the host's cores -----------------

def cgroup(tmp_path, proc: str, files: dict[str, str]):
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "self-cgroup").write_text(proc)
    return lambda cores: usable_cpus(tmp_path, tmp_path / "self-cgroup", cores)


def test_a_cgroup_v2_cpu_limit_caps_the_workers(tmp_path):
    cpus = cgroup(tmp_path, "0::/\n", {"cpu.max": "200000 100000\n"})
    assert cpus(64) == 2 and cpus(1) == 1  # the fewer of the limit and the cores


def test_a_fractional_limit_rounds_up_and_no_limit_leaves_the_cores(tmp_path):
    assert cgroup(tmp_path / "a", "0::/\n", {"cpu.max": "150000 100000\n"})(64) == 2
    assert cgroup(tmp_path / "b", "0::/\n", {"cpu.max": "max 100000\n"})(64) == 64
    assert cgroup(tmp_path / "c", "0::/\n", {"cpu.max": "5000 100000\n"})(64) == 1
    assert cgroup(tmp_path / "d", "", {})(8) == 8  # no cgroup at all: the cores


def test_a_limit_on_a_parent_cgroup_holds_for_its_children(tmp_path):
    cpus = cgroup(tmp_path, "0::/system.slice/docker-1.scope\n",
                  {"system.slice/cpu.max": "300000 100000\n",
                   "system.slice/docker-1.scope/cpu.max": "max 100000\n"})
    assert cpus(64) == 3


def test_a_cgroup_v1_cfs_quota_caps_the_workers(tmp_path):
    # inside a v1 container the controller's mount is the container's own cgroup, whatever
    # /proc/self/cgroup names
    cpus = cgroup(tmp_path, "12:cpu,cpuacct:/docker/abc\n5:memory:/docker/abc\n",
                  {"cpu,cpuacct/cpu.cfs_quota_us": "400000\n",
                   "cpu,cpuacct/cpu.cfs_period_us": "100000\n"})
    assert cpus(64) == 4
    unlimited = cgroup(tmp_path / "u", "4:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1\n",
                                                      "cpu/cpu.cfs_period_us": "100000\n"})
    assert unlimited(16) == 16


def test_unreadable_cgroup_files_leave_the_cores(tmp_path):
    assert cgroup(tmp_path, "0::/\n", {"cpu.max": "garbage\n"})(6) == 6
    assert cpu_max_cpus("") is None and cfs_cpus("x", "100000") is None


def test_the_daemon_sizes_its_pool_by_the_usable_cpus(tmp_path):
    from bot.app import load_app

    app = load_app(str(write_config(tmp_path, [])), {})
    try:
        assert app.extraction_pool().workers == usable_cpus()
    finally:
        app.close()


# --- the archive's directory, mounted from the host, not writable by the image's user --------

@contextlib.contextmanager
def as_user(uid: int):
    """This process writes as `uid` (its real uid stays root, to come back)."""
    os.setegid(uid)
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_an_unwritable_data_directory_is_one_line_with_the_fix(cli):
    home = Path(tempfile.mkdtemp(prefix="techwatch-mount-"))  # outside pytest's root-only tree
    try:
        os.chmod(home, 0o755)
        config = write_config(home, [])
        for path in home.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        data = home / "data"
        data.mkdir(mode=0o755)  # a host directory of root's, mounted on /app/data
        # every module the run needs, loaded as root: Python's own live where uid 10001 cannot go
        assert cli("--config", str(config), "run", "--once")[0] == 0
        os.remove(home / "techwatch.db")
        url = f"sqlite:///{data}/techwatch.db"
        os.environ["TECHWATCH_DATABASE_URL"] = url
        try:
            with as_user(10001):
                code, _, err = cli("--config", str(config), "run")
        finally:
            del os.environ["TECHWATCH_DATABASE_URL"]
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1, err
        assert f"{data} is not writable by uid 10001 (it belongs to uid 0)" in lines[0]
        assert f"chown 10001 {data}" in lines[0] and "docker run --user" in lines[0]
        assert "Traceback" not in err and not list(data.iterdir())
    finally:
        shutil.rmtree(home)
