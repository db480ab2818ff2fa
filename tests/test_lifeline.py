"""Extraction processes never outlive a `kill -9` of techwatch, whenever it comes: also while the
forkserver or a worker is still starting (the moment the parent's death is easiest to miss)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, write_config
from newsite import news_sources, serve_news_site


def session_processes(sid: int) -> dict[int, int]:
    """pid -> parent pid of every live process in session `sid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:  # state, ppid, pgrp, session
            found[int(entry.name)] = int(fields[1])
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
@pytest.mark.parametrize("moment", ["forkserver", "worker", "worker+0.05", "worker+0.15"])
def test_kill_9_as_the_workers_start_leaves_no_process_behind(site, tmp_path, moment):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]))
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "poll"],
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    wanted, _, delay = moment.partition("+")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        family = session_processes(process.pid)
        children = [p for p, parent in family.items() if parent == process.pid]
        grandchildren = [p for p, parent in family.items() if parent in children]
        if (wanted == "forkserver" and children) or (wanted == "worker" and grandchildren):
            break
        time.sleep(0.002)
    assert process.poll() is None, "the poll ended before its workers started"
    time.sleep(float(delay or 0))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 15
    while session_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = session_processes(process.pid)
    for pid in left:  # leave the machine clean whatever the verdict
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes outlived techwatch: {left}"


# The worst moment, made certain: the parent is killed after the child is started and before the
# child asks for the parent-death signal. The child must notice and end, not live on under init.
WORKER = """
import os, signal, sys, time
from bot import lifeline
lifeline.PARENT = os.getpid()  # what bot.lifeline_preload records in the forkserver
if os.fork() == 0:
    time.sleep(0.5)  # the parent is gone by now
    lifeline.die_with_parent()  # what a worker's initializer does
    open(sys.argv[1], "w").write("survived")
    os._exit(0)
os.kill(os.getpid(), signal.SIGKILL)
"""
FORKSERVER = """
import os, signal, subprocess, sys
from bot import lifeline
os.environ[lifeline.EXPECTED_PARENT] = str(os.getpid())  # what the pool does before the start
subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(0.5); "
                  "from bot import lifeline_preload; open(sys.argv[1], 'w').write('survived')",
                  sys.argv[1]])
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
@pytest.mark.parametrize("script", [WORKER, FORKSERVER], ids=["worker", "forkserver"])
def test_a_process_whose_parent_died_before_it_was_armed_ends(tmp_path, script):
    marker = tmp_path / "marker"
    subprocess.run([sys.executable, "-c", script, str(marker)], timeout=30,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    time.sleep(2.0)  # the orphan has had four times the time it needs to write
    assert not marker.exists(), "an orphaned extraction process lived on"
