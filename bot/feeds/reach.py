"""Whether a cycle reached its sources at all, and if not, the likely reason and what to do:
a first run on a machine whose network does not reach the feeds must say so, not "no news"."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

NEXT = "then `techwatch run --once --now` polls every source again at once"
# what a failure's kind says about the machine's network, the likely fix first
CAUSES = {
    "dns": "host names do not resolve (DNS): this machine is offline, or reaches the web only "
           "through a proxy (set HTTPS_PROXY and HTTP_PROXY)",
    "proxy": "the proxy refused or failed the requests: check HTTPS_PROXY, HTTP_PROXY and "
             "NO_PROXY",
    "tls": "TLS certificates are not trusted: a proxy that inspects TLS needs its CA certificate "
           "(SSL_CERT_FILE=/path/to/ca.pem)",
    "connect": "connections are refused or blocked (a firewall, or a proxy is needed: set "
               "HTTPS_PROXY and HTTP_PROXY)",
    "timeout": "requests time out (a firewall that drops them, or a proxy is needed: set "
               "HTTPS_PROXY and HTTP_PROXY)",
}
PROXIED = {  # the same failures when a proxy is set: the proxy is the first suspect
    "dns": "the proxy cannot be resolved, or does not resolve the feeds' hosts: check "
           "HTTPS_PROXY and HTTP_PROXY",
    "connect": "the proxy cannot be reached or refuses: check HTTPS_PROXY, HTTP_PROXY and "
               "NO_PROXY",
    "timeout": "requests through the proxy time out: check HTTPS_PROXY and HTTP_PROXY",
}


def likely_cause(errors: Mapping[str, int], proxied: bool = False) -> str:
    """The reason the most failures point at, in words a user can act on."""
    for kind, _ in Counter(errors).most_common():
        cause = (PROXIED if proxied else {}).get(kind) or CAUSES.get(kind)
        if cause:
            return cause
    return ("the sources answered with errors (" + ", ".join(
        f"{kind} {n}" for kind, n in Counter(errors).most_common()) + "): `techwatch sources "
        "check` shows each one's")


def unreachable(polled: int, failed: int, errors: Mapping[str, int], *,
                proxied: bool = False) -> str | None:
    """One line when every source polled failed (None when any was reached)."""
    if not polled or failed < polled:
        return None
    kinds = ", ".join(f"{n} {kind}" for kind, n in Counter(errors).most_common())
    return (f"every source failed ({failed} of {polled}: {kinds}). Likely cause: "
            f"{likely_cause(errors, proxied)}; {NEXT}.")


def all_backing_off(count: int, until: str) -> str:
    """No source was polled: each waits out its back-off after earlier failures."""
    return (f"no source was polled: all {count} are backing off after failures until {until}; "
            "`techwatch run --once --now` (or `techwatch poll --now`) polls them now.")


def sources_notice(sources: Iterable[tuple[str, str | None]]) -> str:
    """A digest's warning, from each source's health and last status (`status`'s "failing",
    "error: dns"): when every source still polled failed its last poll, the digest says so
    rather than "no new stories"; empty otherwise."""
    polled = [(health, status or "") for health, status in sources
              if health in ("ok", "failing")]
    failing = Counter(status.removeprefix("error: ") for health, status in polled
                      if health == "failing")
    return unreachable(len(polled), sum(failing.values()), failing) or ""
