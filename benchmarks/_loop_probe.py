"""Run `techwatch ARGS` in this process with every event-loop callback timed: the longest one is
the longest stall of the loop (nothing else can run meanwhile). Writes {"longest": s, "over_50ms":
n, "stalled": s} to the file named first.

    python benchmarks/_loop_probe.py OUT.json -- --config X run --once
"""

from __future__ import annotations

import asyncio.events
import atexit
import json
import sys
import time
from pathlib import Path

figures = {"longest": 0.0, "over_50ms": 0, "stalled": 0.0, "where": ""}
_run = asyncio.events.Handle._run


def timed(self: asyncio.events.Handle) -> None:
    started = time.perf_counter()
    try:
        _run(self)
    finally:
        took = time.perf_counter() - started
        if took > 0.05:
            figures["over_50ms"] += 1
            figures["stalled"] += took
        if took > figures["longest"]:
            figures["longest"] = took
            figures["where"] = repr(self)[:200]


if __name__ == "__main__":  # not in the workers, which import this file as their __main__
    out, args = sys.argv[1], sys.argv[3:]
    asyncio.events.Handle._run = timed
    atexit.register(lambda: Path(out).write_text(json.dumps(figures)))

    from bot.cli import main

    sys.exit(main(args))
