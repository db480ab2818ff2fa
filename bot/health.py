"""What `techwatch run` says about itself: Prometheus metrics and a liveness verdict, served on
/metrics and /healthz from a thread, so a stuck event loop shows as unhealthy rather than as a
server that does not answer."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app
from prometheus_client.metrics_core import Metric

from bot.notify.slack import DeliveryReport
from bot.pipeline import CycleReport
from bot.store.sources import source_health
from bot.wsgiserver import Serving, serve_wsgi

HEARTBEAT_SECONDS = 5.0  # how often the loop says it is alive
LOOP_STALE_SECONDS = 30.0  # no heartbeat for this long: the loop is stuck
STUCK_CYCLE_SECONDS = 3600.0  # a poll cycle running this long is stuck


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
    """Alive = the loop beats and the poll tick keeps coming (or its cycle is not stuck)."""

    def __init__(self, tick_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.started = clock()
        self.beat_at = self.started
        self.tick_started_at: float | None = None
        self.tick_finished_at: float | None = None

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


def serve(health: Health, metrics: Metrics, host: str, port: int) -> Serving:
    """/healthz and /metrics on a daemon thread, behind the same bounded server as the Slack
    app (an idle connection cannot keep a scrape out); the caller shuts the server down."""
    labelled = CollectorRegistry(auto_describe=False)
    labelled.register(_WorkerLabel(metrics.registry, metrics.worker))
    metrics_app = make_wsgi_app(labelled)

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics_app(environ, start_response)
        if path == "/healthz":  # this worker's own health, not its peers'
            ok, reason = health.verdict()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "text/plain; charset=utf-8")])
            worker = f"worker {metrics.worker}\n" if metrics.worker else ""
            return [f"{reason}\n{worker}".encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /healthz or /metrics\n"]

    return serve_wsgi(app, host, port, name="health")


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
