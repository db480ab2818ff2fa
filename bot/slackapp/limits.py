"""What any member of a workspace may make the bot fetch: commands that fetch (`add`,
`add-source`) run a few at a time through the one extraction pool, a few more wait in a short
queue, and beyond it the answer is "busy"; and each member may ask for a bounded number of
fetches in a window. Memory and processes stay bounded whatever a workspace sends."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class RateLimit:
    """At most `most` requests of one user in any `window` seconds."""

    def __init__(self, most: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.most, self.window, self.clock = most, window, clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def wait(self, user: str) -> int:
        """0 when `user` may go ahead (counted), else the whole seconds until they may."""
        now = self.clock()
        with self._lock:
            for key in [k for k, times in self._seen.items() if times[-1] <= now - self.window]:
                del self._seen[key]  # users with nothing in the window: memory stays bounded
            times = self._seen.setdefault(user, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.most:
                return max(1, math.ceil(times[0] + self.window - now))
            times.append(now)
            return 0


class FetchQueue:
    """`slots` commands run at once, `waiting` more wait their turn, the rest are refused."""

    def __init__(self, slots: int, waiting: int) -> None:
        self.slots, self.most = slots, slots + waiting
        self._lock = threading.Lock()
        self._turns = threading.Semaphore(slots)
        self._inside = 0

    def enter(self) -> int | None:
        """How many commands are ahead of this one (0: it runs at once), or None when the
        queue is full; a command that entered must then take its `turn`."""
        with self._lock:
            if self._inside >= self.most:
                return None
            self._inside += 1
            return max(0, self._inside - self.slots)

    @contextmanager
    def turn(self) -> Iterator[None]:
        try:
            with self._turns:
                yield
        finally:
            with self._lock:
                self._inside -= 1
