"""A polite HTTP client: conditional GET, size caps, per-host limits, Retry-After.

One `Fetcher` wraps the one `httpx.AsyncClient` of a cycle. Decompression is done here, bounded,
so a gzip bomb costs at most `max_body_bytes` of memory.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpcore
import httpx
from httpx._utils import get_environment_proxies  # what httpx itself honours

from bot.config import FetchSettings
from bot.errors import FetchError, HostPaused, RateLimited
from bot.logs import redact
from bot.models import FetchResult

PRIVATE_OK = "techwatch.private_ok"
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MAX_PAUSE = timedelta(hours=24)


def build_client(settings: FetchSettings) -> httpx.AsyncClient:
    """The client of a run. Every connection goes through the address guard of the request's
    source (`PRIVATE_OK` in its extensions, carried over redirects): the name is resolved once,
    its addresses checked, and the connection made to a checked address (the Host header and
    the TLS name stay the name's), so a name that resolves otherwise the second time (DNS
    rebinding) reaches nothing it should not. Through a proxy (HTTPS_PROXY, HTTP_PROXY,
    NO_PROXY are honoured) the proxy connects: a name that resolves here is checked here, not
    pinned; one that only the proxy resolves is left to the proxy."""
    limits = httpx.Limits(max_connections=settings.concurrency)
    return httpx.AsyncClient(
        transport=_Guarded(lambda private_ok: _pinned(private_ok, limits)),
        mounts={pattern: None if proxy is None else _Guarded(
            lambda _, proxy=proxy: httpx.AsyncHTTPTransport(proxy=proxy, limits=limits),
            check_names=True) for pattern, proxy in get_environment_proxies().items()},
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        # no pool timeout: waiting for a free connection is not the server's slowness
        timeout=httpx.Timeout(settings.timeout_seconds, pool=None),
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        limits=httpx.Limits(max_connections=settings.concurrency),
    )


@dataclass
class _Host:
    """Politeness state of one host."""

    slots: asyncio.Semaphore
    next_start: float = 0.0
    paused_until: datetime | None = None
    paused_by: int = 429
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Fetcher:
    def __init__(self, client: httpx.AsyncClient, settings: FetchSettings,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._client = client
        self._settings = settings
        self._now = now
        self._hosts: dict[str, _Host] = {}
        self._slots = asyncio.Semaphore(settings.concurrency)
        self.requests = 0

    async def get(self, url: str, *, accept: str = PAGE_ACCEPT, etag: str | None = None,
                  last_modified: str | None = None, private_ok: bool = False) -> FetchResult:
        """GET `url`; raise FetchError (with a kind) for anything but a usable 2xx or a 304.

        Unless `private_ok`, every hop must resolve to a public address: a feed on the internet,
        or a link in it, must not reach this machine's network (loopback, private). Link-local
        and cloud metadata addresses are refused always."""
        try:
            urlsplit(url).port  # noqa: B018 -- "http://[::1" or a port of "x" raise here
        except ValueError as e:
            raise FetchError(f"bad URL {redact(url)!r}: {e}", kind="bad_url") from None
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag  # RFC 9110 §13.1.2
        if last_modified:
            headers["If-Modified-Since"] = last_modified  # RFC 9110 §13.1.3
        host = self._host(url)
        self._check_pause(host, url)
        async with host.slots, self._slots:
            await self._wait_turn(host)
            self._check_pause(host, url)
            try:
                async with asyncio.timeout(self._settings.timeout_seconds * 2):
                    return await self._get(url, headers, private_ok)
            except TimeoutError:
                raise FetchError(f"not complete after {self._settings.timeout_seconds * 2:g}s "
                                 f"(a response that trickles in): {redact(url)}",
                                 kind="timeout") from None

    async def _get(self, url: str, headers: dict[str, str], private_ok: bool) -> FetchResult:
        self.requests += 1
        try:
            async with self._client.stream("GET", url, headers=headers,
                                           extensions={PRIVATE_OK: private_ok}) as response:
                hops = len(response.history) + 1
                self.requests += hops - 1
                resp_headers = {k.lower(): v for k, v in response.headers.items()}
                final = str(response.url)
                if response.status_code == 304:
                    return FetchResult(final, 304, resp_headers, b"", hops)
                if response.status_code >= 400:
                    # the host that answered is the one to leave alone, after any redirect
                    raise self._status_error(response.status_code, resp_headers, final,
                                             self._host(final))
                if response.status_code >= 300:
                    raise FetchError(f"HTTP {response.status_code} without a usable Location: "
                                     f"{redact(final)}", kind="http", status=response.status_code)
                body = await self._read_body(response, final)
                return FetchResult(final, response.status_code, resp_headers, body, hops)
        except httpx.TooManyRedirects:
            raise FetchError(f"more than {self._settings.max_redirects} redirects (a loop?): "
                             f"{redact(url)}", kind="redirects") from None
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {self._settings.timeout_seconds:g}s: {redact(url)}",
                             kind="timeout") from None
        except httpx.ConnectError as e:
            raise _connect_error(e, url) from None
        except httpx.ProxyError as e:
            raise FetchError(f"the proxy failed ({e or 'refused'}): {redact(url)}",
                             kind="proxy") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as e:
            raise FetchError(f"bad URL {redact(url)!r}: {e}", kind="bad_url") from None
        except httpx.HTTPError as e:
            raise FetchError(f"{type(e).__name__}: {e or 'connection broken'}: {redact(url)}",
                             kind="protocol") from None

    async def _read_body(self, response: httpx.Response, url: str) -> bytes:
        limit = self._settings.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(url, limit)
        inflater = _inflater(response.headers.get("content-encoding", ""), url)
        chunks, size = [], 0
        async for raw in response.aiter_raw():
            try:
                data = raw if inflater is None else inflater.decompress(raw, limit - size + 1)
            except zlib.error as e:
                raise FetchError(f"corrupt compressed body ({e}): {redact(url)}", kind="protocol") from None
            size += len(data)
            if size > limit:
                raise _too_large(url, limit)
            chunks.append(data)
        if inflater is not None and not inflater.complete:
            raise FetchError(f"compressed body cut short: {redact(url)}", kind="protocol")
        return b"".join(chunks)

    def _status_error(self, status: int, headers: dict[str, str], url: str,
                      host: _Host) -> FetchError:
        until = parse_retry_after(headers.get("retry-after"), self._now())
        if status in (429, 503) and until is not None:
            host.paused_until, host.paused_by = until, status  # RFC 9110 §10.2.3
            return RateLimited(f"HTTP {status}, host asks to wait until {until:%Y-%m-%d %H:%M}Z: "
                               f"{redact(url)}", until=host.paused_until, status=status)
        kind = {404: "not_found", 410: "gone", 401: "blocked", 403: "blocked"}.get(status, "http")
        return FetchError(f"HTTP {status}: {redact(url)}", kind=kind, status=status)

    def _host(self, url: str) -> _Host:
        name = (urlsplit(url).hostname or "").lower()
        if name not in self._hosts:
            self._hosts[name] = _Host(asyncio.Semaphore(self._settings.per_host_concurrency))
        return self._hosts[name]

    def _check_pause(self, host: _Host, url: str) -> None:
        if host.paused_until and host.paused_until > self._now():
            raise HostPaused(f"host asked to wait until {host.paused_until:%Y-%m-%d %H:%M}Z: "
                              f"{redact(url)}", until=host.paused_until, status=host.paused_by)

    async def _wait_turn(self, host: _Host) -> None:
        """Keep `per_host_delay_seconds` between the starts of two requests to one host."""
        async with host.lock:
            now = time.monotonic()
            start = max(now, host.next_start)
            host.next_start = start + self._settings.per_host_delay_seconds
        if start > now:
            await asyncio.sleep(start - now)


class _Guarded(httpx.AsyncBaseTransport):
    """Sends a request through the transport of its source's policy (private addresses allowed
    or not), so a connection opened for one policy is never reused for the other."""

    def __init__(self, make: Callable[[bool], httpx.AsyncBaseTransport], *,
                 check_names: bool = False) -> None:
        self._by_policy = {private_ok: make(private_ok) for private_ok in (False, True)}
        self._check_names = check_names

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        private_ok = bool(request.extensions.get(PRIVATE_OK, False))
        if self._check_names:
            try:
                await allowed_addresses(request.url.host, request.url.port or 443, private_ok)
            except FetchError as e:
                if e.kind != "dns":
                    raise  # a name that resolves here is checked here
                # a network whose DNS ends at the proxy: only the proxy knows the name, and its
                # own policy decides where it may go
        return await self._by_policy[private_ok].handle_async_request(request)

    async def aclose(self) -> None:
        for transport in self._by_policy.values():
            await transport.aclose()


def _pinned(private_ok: bool, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(limits=limits)
    # httpx takes no network backend of its own: its connection pool's is replaced (httpcore)
    transport._pool._network_backend = _CheckedConnect(private_ok)
    return transport


class _CheckedConnect(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address check between the name's resolution and the
    connect, on every connection (each redirect hop's too)."""

    def __init__(self, private_ok: bool) -> None:
        self._private_ok = private_ok
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options=None,
                          ) -> httpcore.AsyncNetworkStream:
        addresses = await allowed_addresses(host, port, self._private_ok)
        for address in addresses[:-1]:
            try:
                return await self._backend.connect_tcp(address, port, timeout, local_address,
                                                       socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue  # the name's next address, as a browser would
        return await self._backend.connect_tcp(addresses[-1], port, timeout, local_address,
                                               socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options=None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


# never fetched, whatever the source: cloud metadata services (AWS, GCP and Azure at
# 169.254.169.254 within link-local, AWS's IPv6 one, Alibaba's), besides every link-local,
# multicast and unspecified ("this host") address
METADATA = frozenset(map(ipaddress.ip_address, ("fd00:ec2::254", "100.100.100.200")))
NAT64 = ipaddress.ip_network("64:ff9b::/96")


async def allowed_addresses(host: str, port: int, private_ok: bool) -> list[str]:
    """The addresses `host` resolves to, if every one may be reached; else FetchError. The
    message names the host, never what an internal name resolves to."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchError(f"cannot resolve host {host}", kind="dns") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        ip = _plain(ipaddress.ip_address(address.split("%")[0]))
        if ip in METADATA or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
            raise FetchError(f"refused: {host} is a link-local or cloud metadata address, never "
                             "fetched", kind="private_address")
        if not private_ok and not ip.is_global:
            raise FetchError(f"refused: {host} is not a public address (this source may not "
                             "reach private, loopback or local networks)", kind="private_address")
    return addresses


def _plain(ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
           ) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d, or NAT64), else itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


async def is_private_host(url: str) -> bool:
    """Whether a URL's host resolves to non-public addresses only (a local news site, a test,
    an intranet)."""
    host = urlsplit(url).hostname
    if not host:
        return False
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return all(not _plain(ipaddress.ip_address(a[0].split("%")[0])).is_global
               for *_, a in infos)


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After is delay-seconds or an HTTP-date (RFC 9110 §10.2.3); capped at a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + min(timedelta(seconds=min(int(value), 10**9)), MAX_PAUSE)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return min(when, now + MAX_PAUSE)


class _Inflater:
    """gzip (of several members too, as concatenated files are) or deflate (zlib-wrapped or raw,
    as some servers send it), decoded a chunk at a time with the output bounded."""

    def __init__(self, gzip: bool) -> None:
        self.gzip = gzip
        self.wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
        self.stream = zlib.decompressobj(self.wbits)
        self.started = False  # any byte fed
        self.next_member = False  # a gzip member ended and more bytes follow
        self.done = False  # the end seen; what follows (zero padding, junk) is ignored

    def decompress(self, data: bytes, max_length: int) -> bytes:
        out: list[bytes] = []
        while data and max_length > 0 and not self.done:
            first = not self.started
            try:
                chunk = self.stream.decompress(data, max_length)
            except zlib.error:
                if first and not self.gzip and self.wbits > 0:  # deflate without its header
                    self.wbits, self.stream = -zlib.MAX_WBITS, zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                if self.next_member:  # junk after the last member: `gzip -d` ignores it too
                    self.done = True
                    break
                raise
            self.started, self.next_member = True, False
            out.append(chunk)
            max_length -= len(chunk)
            if self.stream.eof:
                rest = self.stream.unused_data
                if not self.gzip or not rest.strip(b"\0"):
                    self.done = True
                    break
                self.stream, self.next_member = zlib.decompressobj(self.wbits), True
                data = rest
                continue
            data = self.stream.unconsumed_tail  # left only when max_length ran out
        return b"".join(out)

    @property
    def complete(self) -> bool:
        """The stream ended where it says it ends (a body cut short did not)."""
        return self.done or not self.started or self.stream.eof


def _inflater(encoding: str, url: str) -> _Inflater | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _Inflater(gzip=encoding != "deflate")
    raise FetchError(f"unsupported Content-Encoding {encoding!r}: {redact(url)}", kind="protocol")


def _too_large(url: str, limit: int) -> FetchError:
    return FetchError(f"response larger than {limit:,} bytes: {redact(url)}", kind="too_large")


def _connect_error(error: httpx.ConnectError, url: str) -> FetchError:
    text = str(error)
    if "Name or service not known" in text or "nodename nor servname" in text or \
            "Temporary failure in name resolution" in text or "No address associated" in text:
        return FetchError(f"cannot resolve host: {redact(url)}", kind="dns")
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return FetchError(f"TLS failed ({text}): {redact(url)}", kind="tls")
    return FetchError(f"cannot connect ({text or 'refused'}): {redact(url)}", kind="connect")
