"""What `techwatch run` (and `serve`) says about itself, served from a thread: /healthz,
liveness (the process works: its loop beats and its poll ticks come; a stuck event loop shows as
unhealthy rather than as a server that does not answer), /readyz, readiness (it does its job: the
last poll cycle reached at least one source, Slack accepts the token), and /metrics, with both
verdicts as gauges."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from bot.notify.slack import DeliveryReport
from bot.pipeline import CycleReport
from bot.store.sources import source_health
from bot.wsgiserver import Serving, serve_wsgi

if TYPE_CHECKING:
    from bot.config import HealthSettings

log = logging.getLogger("techwatch")

HEARTBEAT_SECONDS = 5.0  # how often the loop says it is alive
LOOP_STALE_SECONDS = 30.0  # no heartbeat for this long: the loop is stuck
STUCK_CYCLE_SECONDS = 3600.0  # a poll cycle running this long is stuck
SLACK_RETRY_SECONDS = 60.0  # Slack out of reach at start: its token is asked about again
# A poll failed with one of these got no HTTP answer: the source was not reached (no DNS, no
# route, a refused or timed-out connection, TLS or a proxy failing, an address refused here).
# Any HTTP status, even an error, means the network and the source's server work.
UNREACHED = frozenset({"dns", "connect", "timeout", "protocol", "proxy", "tls",
                       "private_address", "bad_url"})

Verdict = tuple[bool, str]


class Probe(Protocol):
    def verdict(self) -> Verdict: ...  # liveness: /healthz
    def readiness(self) -> Verdict: ...  # readiness: /readyz


def reached(polled: int, errors: dict[str, int]) -> int:
    """Of `polled` sources, those whose poll got an HTTP answer."""
    return polled - sum(count for kind, count in errors.items() if kind in UNREACHED)


def status_reached(status: str | None) -> bool:
    """A source's recorded last poll ("ok", "not_modified", "error: dns", ...) got an answer."""
    return bool(status) and status.removeprefix("error: ") not in UNREACHED


class SlackToken:
    """Whether Slack accepts the bot token: auth.test once at start (again every minute while
    Slack cannot be reached), and refused from the moment a post is refused for it. `ask`
    answers "ok", Slack's error, or None (no answer); `refused` the error a post got, if any."""

    def __init__(self, ask: Callable[[], str | None],
                 refused: Callable[[], str | None] = lambda: None) -> None:
        self.ask, self.refused = ask, refused
        self.answer: str | None = None
        self.stopped = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._check, name="slack-token", daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()

    def _check(self) -> None:
        while not self.stopped.is_set():
            self.answer = self.ask()
            if self.answer is not None:
                return
            self.stopped.wait(SLACK_RETRY_SECONDS)

    def verdict(self) -> Verdict:
        error = self.refused() or (self.answer if self.answer != "ok" else None)
        if error:
            return False, f"Slack refuses SLACK_BOT_TOKEN ({error})"
        if self.answer is None:
            return False, "Slack has not answered about SLACK_BOT_TOKEN yet"
        return True, "Slack token accepted"


class Metrics:
    """The daemon's counters and gauges, in a registry of their own (one per run); served with
    a `worker` label on every sample, so the workers of one archive can be told apart."""

    def __init__(self, worker: str = "") -> None:
        self.worker = worker
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("techwatch_polls", "Feed polls by outcome", ["outcome"], registry=r)
        self.poll_errors = Counter("techwatch_poll_errors", "Failed feed polls by kind",
                                   ["kind"], registry=r)
        self.all_new = Counter("techwatch_polls_all_new",
                               "Polls in which every item was new (the interval was shortened)",
                               registry=r)
        self.ingested = Counter("techwatch_articles_ingested",
                                "Articles fetched, extracted, classified and archived", registry=r)
        self.relevant = Counter("techwatch_articles_relevant",
                                "Archived articles judged relevant", registry=r)
        self.slack_posts = Counter("techwatch_slack_posts", "Messages posted to Slack",
                                   registry=r)
        self.slack_failures = Counter("techwatch_slack_failures",
                                      "Slack messages refused or left for a later retry",
                                      registry=r)
        self.pending = Gauge("techwatch_deliveries_pending", "Messages waiting to be posted",
                             registry=r)
        self.last_success = Gauge("techwatch_last_successful_poll_timestamp_seconds",
                                  "When a feed was last polled successfully", registry=r)
        self.last_success_age = Gauge("techwatch_last_successful_poll_age_seconds",
                                      "Seconds since a feed was last polled successfully",
                                      registry=r)
        self.last_success_age.set_function(self._age)
        self._last_success_ts = 0.0
        self.next_poll = Gauge("techwatch_source_next_poll_timestamp_seconds",
                               "When each source is next due", ["source"], registry=r)
        self.interval = Gauge("techwatch_source_interval_seconds",
                              "Each source's adaptive polling interval", ["source"], registry=r)
        self.source_errors = Gauge("techwatch_source_consecutive_errors",
                                   "Failed polls in a row, by source", ["source"], registry=r)

    def _age(self) -> float:
        last = self._last_success_ts
        return time.time() - last if last else float("nan")

    def observe_cycle(self, report: CycleReport) -> None:
        ok = report.polled - report.failed - report.not_modified - report.unchanged
        for outcome, count in (("ok", ok), ("not_modified", report.not_modified),
                               ("unchanged", report.unchanged), ("error", report.failed)):
            self.polls.labels(outcome).inc(max(count, 0))
        for kind, count in report.errors.items():
            self.poll_errors.labels(kind).inc(count)
        self.all_new.inc(report.all_new)
        self.ingested.inc(report.processed)
        self.relevant.inc(report.relevant)

    def observe_delivery(self, report: DeliveryReport) -> None:
        self.slack_posts.inc(report.sent)
        self.slack_failures.inc(report.failed + report.pending)

    def observe_sources(self, rows: list, pending: int) -> None:
        """Gauges from the archive: per-source schedule and the delivery backlog."""
        self.pending.set(pending)
        successes = [r.last_success_at for r in rows if r.last_success_at]
        if successes:
            self._last_success_ts = max(successes).timestamp()
            self.last_success.set(self._last_success_ts)
        for r in rows:
            if r.next_poll_at and source_health(r) not in ("gone", "disabled"):
                self.next_poll.labels(r.id).set(r.next_poll_at.timestamp())
            else:  # never polled again: no overdue alert for it
                with contextlib.suppress(KeyError):
                    self.next_poll.remove(r.id)
            if r.interval_minutes:
                self.interval.labels(r.id).set(r.interval_minutes * 60)
            self.source_errors.labels(r.id).set(r.consecutive_errors)


class Health:
    """`techwatch run`. Alive = the loop beats and the poll tick keeps coming (or its cycle is
    not stuck). Ready = the last cycle that polled any source reached at least one (before the
    first: the sources' last polls, recorded in the archive), and Slack, if configured, accepts
    the token."""

    def __init__(self, tick_seconds: float, clock: Callable[[], float] = time.monotonic,
                 slack: SlackToken | None = None) -> None:
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.started = clock()
        self.beat_at = self.started
        self.tick_started_at: float | None = None
        self.tick_finished_at: float | None = None
        self.slack = slack
        self.sources: tuple[int, int, str] | None = None  # reached, polled, when (see readiness)

    def cycle_done(self, report: CycleReport) -> None:
        """A cycle that polled nothing (nothing was due) leaves the last verdict standing."""
        if report.polled:
            self.sources = (reached(report.polled, report.errors), report.polled,
                            "in the last cycle")

    def sources_seen(self, rows: list) -> None:
        """Before the first cycle that polls a source: each source's last recorded poll."""
        if self.sources is not None and self.sources[2] != "at their last poll":
            return
        polled = [r for r in rows if r.last_polled_at]
        if polled:
            self.sources = (sum(status_reached(r.last_status) for r in polled), len(polled),
                            "at their last poll")

    def readiness(self) -> Verdict:
        if self.sources is None:
            return False, "no source polled yet"
        hit, polled, when = self.sources
        ok, reason = hit > 0, f"{hit} of {polled} sources reached {when}"
        if self.slack is not None:
            slack_ok, slack_reason = self.slack.verdict()
            ok, reason = ok and slack_ok, f"{reason}; {slack_reason}"
        return ok, reason

    def beat(self) -> None:
        self.beat_at = self.clock()

    def tick_started(self) -> None:
        self.tick_started_at = self.clock()

    def tick_finished(self) -> None:
        self.tick_finished_at = self.clock()

    def verdict(self) -> tuple[bool, str]:
        now = self.clock()
        if now - self.beat_at > LOOP_STALE_SECONDS:
            return False, f"event loop unresponsive for {now - self.beat_at:.0f} s"
        running = self.tick_started_at is not None and (
            self.tick_finished_at is None or self.tick_finished_at < self.tick_started_at)
        if running and now - self.tick_started_at > STUCK_CYCLE_SECONDS:
            return False, f"poll cycle running for {now - self.tick_started_at:.0f} s"
        last = self.tick_finished_at or self.tick_started_at or self.started
        late = 3 * self.tick_seconds + 60
        if not running and now - last > late:
            return False, f"no poll tick for {now - last:.0f} s"
        return True, "ok"


def serve(health: Probe, metrics: Metrics | None, host: str, port: int) -> Serving:
    """/healthz, /readyz and /metrics on a daemon thread, behind the same bounded server as the
    Slack app (an idle connection cannot keep a scrape out); the caller shuts the server down.
    Each answers for this process only, not its peers."""
    worker = metrics.worker if metrics is not None else ""
    labelled = CollectorRegistry(auto_describe=False)
    if metrics is not None:
        labelled.register(_WorkerLabel(metrics.registry, worker))
    labelled.register(_Verdicts(health, worker))
    metrics_app = make_wsgi_app(labelled)
    verdicts = {"/healthz": health.verdict, "/readyz": health.readiness}

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics_app(environ, start_response)
        if path in verdicts:
            ok, reason = verdicts[path]()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "text/plain; charset=utf-8")])
            named = f"worker {worker}\n" if worker else ""
            return [f"{reason}\n{named}".encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /healthz, /readyz or /metrics\n"]

    return serve_wsgi(app, host, port, name="health")


def serve_probes(health: Probe, metrics: Metrics | None, settings: HealthSettings) -> Serving | None:
    """serve() at `[health] host`/`port` if a port is set; one line if it cannot listen there."""
    if not settings.port:
        return None
    try:
        server = serve(health, metrics, settings.host, settings.port)
    except OSError as e:
        log.error("health: cannot serve on %s:%d: %s; running without /healthz", settings.host,
                  settings.port, e.strerror)
        return None
    log.info("health on http://%s:%d/healthz", settings.host, settings.port)
    return server


class _Verdicts:
    """techwatch_live and techwatch_ready (1 or 0), asked at each scrape."""

    def __init__(self, health: Probe, worker: str) -> None:
        self.health, self.worker = health, worker

    def collect(self) -> Iterator[Metric]:
        for name, text, verdict in (
                ("techwatch_live", "1 while the process works (/healthz answers 200)",
                 self.health.verdict),
                ("techwatch_ready", "1 while it does its job (/readyz answers 200)",
                 self.health.readiness)):
            gauge = GaugeMetricFamily(name, text, labels=["worker"])
            gauge.add_metric([self.worker], float(verdict()[0]))
            yield gauge


class _WorkerLabel:
    """Every metric of `registry`, its samples labelled with the worker's name."""

    def __init__(self, registry: CollectorRegistry, worker: str) -> None:
        self.registry, self.worker = registry, worker

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            labelled = Metric(metric.name, metric.documentation, metric.type, metric.unit)
            for sample in metric.samples:
                labelled.add_sample(sample.name, {**sample.labels, "worker": self.worker},
                                    sample.value, sample.timestamp, sample.exemplar)
            yield labelled
