"""The one way the bot listens on a port (the Slack app's endpoint, /metrics and /healthz):
waitress with limits, so a client that sends too much, too slowly or nothing at all costs
bounded memory and time and cannot lock out Slack's own requests."""

from __future__ import annotations

import contextlib
import errno
import resource
import threading
import time
from collections.abc import Callable

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

# Slack's payloads are a few KB (1 MiB is generous): a larger body is answered 413 before it is
# read, by Content-Length, or cut as soon as a chunked body grows past it.
MAX_BODY_BYTES = 1 << 20
MAX_HEADER_BYTES = 16 << 10  # Slack's headers are under 2 KB; more is answered 431
BODY_IN_MEMORY_BYTES = 64 << 10  # the rest of a body waits in a temporary file, not in memory
# A connection that sends nothing for this long is closed: a stalled or idle keep-alive client
# gives its socket back (waitress checks every CLEANUP_SECONDS).
IDLE_SECONDS = 10
CLEANUP_SECONDS = 1
# A request not wholly received this long after its first byte is cut: trickling a byte now and
# then (slowloris) resets the idle timer but not this one. Slack wants its answer within 3 s.
REQUEST_SECONDS = 10.0
# Connections open at once. Waitress reads them all on one poll() loop (no fd-set ceiling), so
# a half-sent request holds a socket, never a thread; past the limit, new connections wait in the
# listen backlog until the timeouts above free sockets. Capped by the process's file limit so
# that two servers leave descriptors for the archive and the fetchers.
CONNECTION_LIMIT = 1000
THREADS = 8  # requests answered at once: Bolt acknowledges at once and works on its own threads


class _TimedParser(HTTPRequestParser):
    """A request being received, and since when."""

    def __init__(self, adj) -> None:
        super().__init__(adj)
        self.started = time.monotonic()


class _Channel(HTTPChannel):
    parser_class = _TimedParser

    def readable(self) -> bool:
        """Called on every turn of the loop (at least once a second): cut a request that is
        still arriving REQUEST_SECONDS after its first byte."""
        partial = self.request
        if partial is not None and not self.requests and \
                time.monotonic() - partial.started > REQUEST_SECONDS:
            self.will_close = True  # closed on this turn, nothing answered
        return super().readable()


class _Server(TcpWSGIServer):
    channel_class = _Channel


class Serving:
    """A server answering on its own daemon thread; shutdown() stops it and closes its sockets."""

    def __init__(self, server: _Server, socket_map: dict, name: str) -> None:
        self._server, self._map = server, socket_map
        self.server_address: tuple[str, int] = (server.effective_host, int(server.effective_port))
        self._thread = threading.Thread(target=server.run, name=name, daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def shutdown(self) -> None:
        """Idempotent: a second call (or one after the loop ended) finds nothing to close."""
        if self._thread.is_alive():
            # closed on the loop's own thread, between two polls; a trigger already closed
            # means the loop has closed everything itself
            with contextlib.suppress(OSError):
                self._server.trigger.pull_trigger(
                    lambda: wasyncore.close_all(self._map, ignore_all=True))
            self._thread.join(2)
        self._server.task_dispatcher.shutdown(timeout=1)


def serve_wsgi(app: Callable, host: str, port: int, *, name: str) -> Serving:
    """`app` on host:port with the limits above; OSError (with a strerror) if it cannot listen."""
    if not 0 <= port <= 65535:  # else the resolver would wrap it round to another port
        raise OSError(errno.EINVAL, "a port is 0 to 65535")
    files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    limit = CONNECTION_LIMIT if files == resource.RLIM_INFINITY else min(CONNECTION_LIMIT, files // 4)
    socket_map: dict = {}
    threads = ThreadedTaskDispatcher()
    threads.set_thread_count(THREADS)
    try:
        server = _Server(app, map=socket_map, dispatcher=threads, host=host, port=port,
                         connection_limit=limit, channel_timeout=IDLE_SECONDS,
                         cleanup_interval=CLEANUP_SECONDS, max_request_body_size=MAX_BODY_BYTES,
                         max_request_header_size=MAX_HEADER_BYTES,
                         inbuf_overflow=BODY_IN_MEMORY_BYTES, asyncore_use_poll=True,
                         log_socket_errors=False)  # a client hanging up is no traceback
    except BaseException as e:
        wasyncore.close_all(socket_map, ignore_all=True)
        threads.shutdown(timeout=1)
        if isinstance(e, ValueError):  # waitress's word for a host or port that does not resolve
            raise OSError(errno.EINVAL, "not a host and port to listen on") from None
        raise
    return Serving(server, socket_map, name)
