"""Prometheus metrics, named as docs/server.md lists them.

One process (`LIFTOFF_WORKERS=1`): each app gets its own in-memory registry, so several apps (in tests) never
collide on one process-wide registry, and recording a value costs a lock and an addition.

Several workers: the parent shares a private directory, and each worker calls `share_across_workers` before
it builds its app. From then on every value is written to that worker's files there (prometheus_client's
multiprocess mode), and `Metrics.registry` reads every worker's files: a scrape of any one worker, or of
the metrics port (service/metrics_port.py), reports them all. Counters and histograms are summed; each
gauge says below whether it is summed or reported per worker (labelled `worker`, the worker's index).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

# Latency buckets from sub-millisecond (a small model on a GPU) to the default request timeout.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client reads it when a worker's first metric writes its file."""
WORKER_LABEL = "worker"

_shared_directory: Path | None = None
"""Set in a forked worker by share_across_workers; None in a single server process."""


def share_across_workers(directory: Path, worker: int) -> None:
    """In a forked worker, before its app is built: write every value to `directory`, in files named by the
    worker's index (not its pid). A worker started in place of a dead one so reopens its predecessor's
    counter and histogram files and counts on from their totals: the sums never go backwards."""
    global _shared_directory
    os.environ[MULTIPROCESS_DIR_ENV] = str(directory)
    # prometheus_client picks its value class at import, from the environment, and the parent imported it
    # long before forking: switch it here, before the worker's first metric is made.
    values.ValueClass = values.MultiProcessValue(process_identifier=lambda: worker)
    _shared_directory = directory


def forget_worker(directory: Path, worker: int) -> None:
    """In the parent, when a worker has exited: drop its per-worker and summed gauges (the `live` modes),
    which describe a process that is gone. Its counters and histograms stay in the sums."""
    mark_process_dead(worker, str(directory))


class WorkersCollector:
    """Every worker's values from the shared directory, with prometheus_client's `pid` label (here the
    worker's index) renamed `worker`."""

    def __init__(self, directory: Path) -> None:
        self._files = MultiProcessCollector(None, path=str(directory))

    def collect(self) -> Iterable[Metric]:
        for family in self._files.collect():
            family.samples = [
                sample._replace(labels={_worker_label(name): value for name, value in sample.labels.items()})
                for sample in family.samples
            ]
            yield family


def _worker_label(name: str) -> str:
    return WORKER_LABEL if name == "pid" else name


def workers_registry(directory: Path) -> CollectorRegistry:
    """What a scrape reads with several workers: their files, merged."""
    registry = CollectorRegistry()
    registry.register(WorkersCollector(directory))
    return registry


class Metrics:
    def __init__(self) -> None:
        shared = _shared_directory
        self.registry = CollectorRegistry(auto_describe=True) if shared is None else workers_registry(shared)
        """What /metrics and the Triton statistics read: this process's values, or every worker's."""
        # With several workers the metrics live in their files, in no registry (the merged files are read).
        r = self.registry if shared is None else None
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
        # Summed over workers: the requests the pod is handling.
        self.in_flight = Gauge(
            "liftoff_requests_in_flight",
            "HTTP requests being handled",
            registry=r,
            multiprocess_mode="livesum",
        )
        # Summed over workers: the rows waiting in the pod, which the autoscaler averages over pods.
        self.queue_depth = Gauge(
            "liftoff_queue_depth", "rows waiting for a forward pass", registry=r, multiprocess_mode="livesum"
        )
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
        # Set by the connection guard (service/connections.py) under `python -m service`. Per worker
        # (labelled `worker`): LIFTOFF_MAX_CONNECTIONS caps each process, and the split shows how evenly
        # the kernel deals connections out.
        self.connections_open = Gauge(
            "liftoff_connections_open", "open client connections", registry=r, multiprocess_mode="liveall"
        )
        self.connections_closed = Counter(
            "liftoff_connections_closed_total",
            "client connections the server closed on a limit, by reason",
            ["reason"],
            registry=r,
        )
