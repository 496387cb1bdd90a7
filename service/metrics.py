"""Prometheus metrics, named as docs/service-contract.md lists them.

Each app gets its own registry, so several apps (in tests) never collide on one process-wide registry.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Latency buckets from sub-millisecond (a small model on a GPU) to the default request timeout.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "liftoff_requests_total",
            "HTTP requests answered, by route, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "liftoff_request_duration_seconds",
            "HTTP request latency, by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("liftoff_requests_in_flight", "HTTP requests being handled", registry=r)
        self.queue_depth = Gauge("liftoff_queue_depth", "rows waiting for a forward pass", registry=r)
        self.batch_size = Histogram(
            "liftoff_batch_size", "rows per forward pass", buckets=BATCH_BUCKETS, registry=r
        )
        self.inference_seconds = Histogram(
            "liftoff_inference_duration_seconds",
            "time of one forward pass",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rejected = Counter(
            "liftoff_rejected_total", "requests refused without an answer, by reason", ["reason"], registry=r
        )
        for reason in ("queue_full", "draining", "deadline"):
            self.rejected.labels(reason=reason)
        # Set by the connection guard (service/connections.py) under `python -m service`.
        self.connections_open = Gauge("liftoff_connections_open", "open client connections", registry=r)
        self.connections_closed = Counter(
            "liftoff_connections_closed_total",
            "client connections the server closed on a limit, by reason",
            ["reason"],
            registry=r,
        )
