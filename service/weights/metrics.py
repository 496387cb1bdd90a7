"""The fetch's Prometheus metrics, read from the process's one fetch record by a collector in each app's
registry (service/metrics.py registers it): the fetch runs before the app's metrics exist, and at most once
per process."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric


class FetchRecord:
    """What this process's weights fetches did; thread-safe, as the fetch reports from its own thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes_fetched = 0
        self.fetch_seconds = 0.0
        self.verify_failures = 0
        self.files_reused = 0

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes_fetched += count

    def add_seconds(self, seconds: float) -> None:
        with self._lock:
            self.fetch_seconds += seconds

    def add_verify_failure(self) -> None:
        with self._lock:
            self.verify_failures += 1

    def add_reused(self, count: int) -> None:
        with self._lock:
            self.files_reused += count


RECORD = FetchRecord()


class WeightsCollector:
    def __init__(self, record: FetchRecord = RECORD) -> None:
        self._record = record

    def collect(self) -> Iterable[Metric]:
        r = self._record
        yield CounterMetricFamily(
            "liftoff_weights_fetched_bytes",
            "bytes of weights read from object storage",
            value=r.bytes_fetched,
        )
        yield GaugeMetricFamily(
            "liftoff_weights_fetch_seconds",
            "seconds spent making the weights local (fetch and verify), before readiness",
            value=r.fetch_seconds,
        )
        yield CounterMetricFamily(
            "liftoff_weights_verify_failures",
            "fetched weights files whose sha256 did not match the manifest",
            value=r.verify_failures,
        )
        yield CounterMetricFamily(
            "liftoff_weights_files_reused",
            "weights files found complete and verified on local disk, so not fetched",
            value=r.files_reused,
        )
