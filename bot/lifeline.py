"""Extraction processes end with the process that started them, also when that one is killed
with -9 or dies: an orphaned forkserver and its workers would hold about 170 MB each for ever.
Linux only (PR_SET_PDEATHSIG); elsewhere a no-op.

Race-free: a process compares its parent with the pid its parent had *before* it was started
(not with whatever `getppid()` says at the check, which is already the reaper's when the parent
died in between). The techwatch process passes its pid to the forkserver in EXPECTED_PARENT; the
forkserver records its own pid in PARENT, which the workers it forks inherit."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
EXPECTED_PARENT = "TECHWATCH_EXPECTED_PARENT"
PARENT: int | None = None  # in a forkserver: its own pid, the parent its workers must have


def die_with_parent(expected: int | None = None) -> None:
    """Ask the kernel to kill this process when its parent ends, and end now if the parent is
    no longer the one expected (`expected`, else PARENT, else the parent at this call)."""
    if sys.platform != "linux":
        return
    parent = expected or PARENT or os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent ended before the request was made
        os._exit(1)


def arm_forkserver() -> None:
    """In the forkserver: die with the techwatch process, and be the parent the workers check."""
    global PARENT
    die_with_parent(int(os.environ.get(EXPECTED_PARENT) or 0) or None)
    PARENT = os.getpid()
