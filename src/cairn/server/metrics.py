"""The server's Prometheus metrics (``GET /metrics``, docs/server.md "Monitoring").

One ``Metrics`` per app, in a registry of its own (several apps in one process, as in
the tests, never mix their counts). Each app process counts its own requests: behind a
proxy with several processes, Prometheus scrapes each one and sums. The use cases report
commits and refusals for rate through the app's store observer
(``cairn.server.instrument.StoreObserver``), without knowing about Prometheus; the
request middleware (``cairn.server.instrument``) and the TTL sweeper
(``cairn.server.ttl_sweeper``) fill the rest. Labels are bounded: a route is its template
(``/api/v1/entities/{entity}/...``, ``unmatched`` for none), a method one of the HTTP
methods or ``other``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_SWEEP_BUCKETS = (0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300)


class Metrics:
    """The counters and histograms of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "cairn_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "cairn_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.bytes_in = Counter(
            "cairn_http_request_bytes",
            "Bytes of request bodies received, by route template.",
            ["route"],
            registry=r,
        )
        self.bytes_out = Counter(
            "cairn_http_response_bytes",
            "Bytes of response bodies sent, by route template.",
            ["route"],
            registry=r,
        )
        self.commits = Counter(
            "cairn_commits",
            "Versions committed: created (a new version) or unchanged (the digest no-op).",
            ["outcome"],
            registry=r,
        )
        self.commit_latency = Histogram(
            "cairn_commit_duration_seconds",
            "Time a commit took in the service, checks and the database transaction included.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.rate_limited_total = Counter(
            "cairn_rate_limited",
            "Requests refused (429) because their API key sent more than its rate.",
            registry=r,
        )
        self.sweeps = Counter(
            "cairn_ttl_sweeps",
            "TTL sweeps this process ran: ok or failed (skipped ones, due elsewhere, are not "
            "counted).",
            ["outcome"],
            registry=r,
        )
        self.sweep_latency = Histogram(
            "cairn_ttl_sweep_duration_seconds",
            "Time a TTL sweep took.",
            buckets=_SWEEP_BUCKETS,
            registry=r,
        )
        self.expired = Counter(
            "cairn_ttl_expired_versions",
            "Versions deleted by TTL sweeps of this process.",
            registry=r,
        )

    def render(self) -> bytes:
        """The metrics in Prometheus text format (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)

    def request(
        self, route: str, method: str, status: int, seconds: float, received: int, sent: int
    ) -> None:
        """Count one answered request."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)
        self.bytes_in.labels(route).inc(received)
        self.bytes_out.labels(route).inc(sent)

    def swept(self, seconds: float, expired: int) -> None:
        """Count a sweep that deleted ``expired`` versions."""
        self.sweeps.labels("ok").inc()
        self.sweep_latency.observe(seconds)
        self.expired.inc(expired)

    def sweep_failed(self) -> None:
        """Count a sweep that failed."""
        self.sweeps.labels("failed").inc()

    def rate_limited(self) -> None:
        """Count a refusal for rate."""
        self.rate_limited_total.inc()

    def committed(self, seconds: float, created: bool) -> None:
        """Count a commit that took ``seconds`` (``created``: a new version)."""
        self.commits.labels("created" if created else "unchanged").inc()
        self.commit_latency.observe(seconds)
