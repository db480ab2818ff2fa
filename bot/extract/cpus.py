"""How many CPUs this process may use: the fewest of the cores it may run on and its cgroup's CPU
quota (a container's `--cpus`), so `extract.workers = 0` on a 64-core host with a 2-CPU limit
starts 2 workers of ~170 MB, not 64. The parsing is pure; usable_cpus reads the files."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def cpu_max_cpus(text: str | None) -> float | None:
    """cgroup v2 `cpu.max` ("200000 100000": 2 CPUs; "max 100000": no limit) as CPUs."""
    fields = (text or "").split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    return _ratio(fields[0], fields[1])


def cfs_cpus(quota: str | None, period: str | None) -> float | None:
    """cgroup v1 `cpu.cfs_quota_us` (-1: no limit) over `cpu.cfs_period_us` as CPUs."""
    if quota is None or period is None:
        return None
    return _ratio(quota.strip(), period.strip())


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def cpus_allowed(limits: list[float | None], cores: int) -> int:
    """The fewest of the quotas (rounded up: 1.5 CPUs keep two workers busy) and the cores;
    at least one."""
    quotas = [math.ceil(limit) for limit in limits if limit is not None]
    return max(1, min([cores, *quotas]))


def cgroup_dirs(proc_cgroup: str, root: Path) -> list[Path]:
    """The directories whose CPU limits apply to this process, from /proc/self/cgroup: its own
    cgroup and every ancestor, under the v2 mount and the v1 `cpu` controller's (inside a
    container the mount root is the container's own cgroup, whatever the path says)."""
    dirs: list[Path] = []
    for line in proc_cgroup.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # v2
            base = root
        elif "cpu" in controllers.split(","):  # v1: mounted as cpu,cpuacct (or cpu)
            base = next((root / name for name in (controllers, "cpu,cpuacct", "cpu")
                         if (root / name).is_dir()), root / controllers)
        else:
            continue
        here = base / path.strip("/")
        dirs += [here, *(p for p in here.parents if p.is_relative_to(base))]
    return list(dict.fromkeys(dirs))


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def usable_cpus(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP,
                cores: int | None = None) -> int:
    """The CPUs this process may use (see the module's docstring); `cores` defaults to the
    cores the scheduler lets it run on."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count() or 1
    limits = []
    for d in cgroup_dirs(_read(proc_cgroup) or "", root):
        limits.append(cpu_max_cpus(_read(d / "cpu.max")))
        limits.append(cfs_cpus(_read(d / "cpu.cfs_quota_us"), _read(d / "cpu.cfs_period_us")))
    return cpus_allowed(limits, cores)
