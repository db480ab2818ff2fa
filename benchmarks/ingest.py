"""The first poll of the extraction-bench pages on loopback, as a user runs it: `techwatch run
--once` in its own process, start-up included, against a local site serving the 181 real pages
behind one feed (per-host politeness off). Then the second cycle, where every page answers 304.

Figures: wall time as a ratio to bare single-process `trafilatura.extract` on the same HTML
(measured in the same run), peak RSS of the whole process tree (main, forkserver, workers,
resource tracker; sampled every 20 ms from /proc), the longest event-loop stall (every callback
timed, benchmarks/_loop_probe.py) and the CPU of the tree.

    python benchmarks/ingest.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import CORPUS, write_config  # noqa: E402
from newsite import query, serve_corpus_site  # noqa: E402
from sitesrv import Site  # noqa: E402

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def bench_pages(count: int) -> list[bytes]:
    bench = CORPUS / "extraction-bench"
    truth = json.loads((bench / "ground-truth.json").read_text())
    return [gzip.decompress((bench / "html" / f"{pid}.html.gz").read_bytes())
            for pid in sorted(truth)[:count]]


def baseline_seconds(pages: list[bytes]) -> float:
    """Bare `trafilatura.extract` of the same pages, one process (imports done before)."""
    import trafilatura

    started = time.perf_counter()
    for html in pages:
        trafilatura.extract(html)
    return time.perf_counter() - started


class TreeWatch:
    """Samples the RSS (and PSS: shared pages split between their processes) and CPU of a
    process and all its descendants until it ends; keeps each process's peak RSS by role."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_rss, self.peak_pss, self.cpu = pid, 0, 0, {}
        self.processes = 0
        self.roles: dict[str, float] = {}
        self.role_of: dict[int, str] = {}
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while Path(f"/proc/{self.pid}").exists():
            tree = _descendants(self.pid)
            self.processes = max(self.processes, len(tree))
            rss = pss = 0
            for pid in tree:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    own = int(stat[21]) * PAGE_SIZE
                    rss += own
                    self.cpu[pid] = (int(stat[11]) + int(stat[12])) / TICKS
                    role = self.role_of.setdefault(pid, _role(pid, self.pid, int(stat[1])))
                    self.roles[role] = max(self.roles.get(role, 0), own / 2**20)
                    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                    pss += int(next(line.split()[1] for line in rollup.splitlines()
                                    if line.startswith("Pss:"))) * 1024
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            time.sleep(0.02)

    def join(self) -> None:
        self._thread.join()


def _by_role(watch: TreeWatch) -> dict[str, float]:
    spent: dict[str, float] = {}
    for pid, seconds in watch.cpu.items():
        role = watch.role_of.get(pid, "?")
        spent[role] = round(spent.get(role, 0) + seconds, 2)
    return spent


def _role(pid: int, main: int, parent: int) -> str:
    """main, forkserver, resource tracker, or worker (forked by the forkserver)."""
    if pid == main:
        return "main"
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    if "resource_tracker" in command:
        return "resource tracker"
    return "forkserver" if parent == main else "worker"


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def run_once(config: Path, site: Site, probe_file: Path) -> dict:
    before = len(site.requests)
    command = [sys.executable, str(ROOT / "benchmarks" / "_loop_probe.py"), str(probe_file),
               "--", "--config", str(config), "-q", "run", "--once"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watch = TreeWatch(process.pid)
    _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    watch.join()
    if process.returncode != 0:
        raise SystemExit(f"techwatch run --once failed ({process.returncode}): "
                         f"{stderr.decode()[-2000:]}")
    new = site.requests[before:]
    stalls = json.loads(probe_file.read_text())
    return {"seconds": seconds, "requests": len(new), "not_modified": sum(r.status == 304
                                                                         for r in new),
            "peak_rss_mb": watch.peak_rss / 2**20, "peak_pss_mb": watch.peak_pss / 2**20,
            "peak_rss_mb_by_role": {k: round(v, 1) for k, v in watch.roles.items()},
            "processes": watch.processes,
            "cpu_seconds_by_role": _by_role(watch),
            "cpu_seconds": sum(watch.cpu.values()), "longest_stall_ms": stalls["longest"] * 1000,
            "stalls_over_50ms": stalls["over_50ms"], "stalled_seconds": stalls["stalled"],
            "longest_stall_at": stalls["where"]}


def measure(quick: bool = False) -> dict:
    count = 60 if quick else 181
    bench = CORPUS / "extraction-bench"
    if not bench.exists():
        return {"skipped": f"corpus not found at {bench} (set TECHWATCH_SHARED)"}
    pages = bench_pages(count)
    site = Site().start()
    try:
        serve_corpus_site(site, bench, count)
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), [{"id": "bench", "name": "Bench",
                                               "url": site.url("/bench.xml")}])
            first = run_once(config, site, Path(tmp) / "probe1.json")
            second = run_once(config, site, Path(tmp) / "probe2.json")
            archived, full = query(config, "SELECT count(*), sum(extraction_status = 'full') "
                                           "FROM articles WHERE source_id = 'bench'")[0]
    finally:
        site.stop()
    base = baseline_seconds(pages)
    return {"pages": count, "archived": archived, "full_text": full,
            "baseline_seconds": base, "first": first, "second": second,
            "first_ratio": first["seconds"] / base,
            "articles_per_second": archived / first["seconds"],
            "second_ratio": second["seconds"] / base}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    figures = measure(parser.parse_args().quick)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
