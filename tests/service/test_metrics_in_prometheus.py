"""A real Prometheus (Debian's, which scripts/test-prereqs.sh installs) scrapes a two-worker `python -m service`
under a bounded load on its metrics port, as the cluster's ServiceMonitor does: the request counter it
stores equals the requests sent, and the autoscaler's and the dashboard's own queries (imported from
infra/workload, not copied) return what the load implies.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.workload.autoscaling import p95_latency_query, queue_depth_query
from infra.workload.dashboard import dashboard_json
from infra.workload.inference_service import NAME
from service.metrics import LATENCY_BUCKETS
from tests.service.live import LiveServer, free_port, start_server
from tests.service.test_worker_metrics import stop_server, wait_both_ready

pytestmark = pytest.mark.slow

NAMESPACE = "liftoff"
POD = f"{NAME}-5d8c7b9f4-x2x7q"
"""The labels Prometheus's Kubernetes discovery gives a pod's series; the queries select on them."""
FORWARD_S = 0.1
"""Each forward pass sleeps this long, with one row per pass: requests queue up behind it."""
CLIENTS = 6
LOAD = 60
"""Requests of the load (one row each), on top of the one sent before it."""
SCRAPE_S = 1

SLOW_HANDLER = f'''"""One row per pass, each taking {FORWARD_S} s: a model slow enough for requests to queue."""

import time

from service.handler import Handler


class Slow(Handler):
    def setup(self, context):
        super().setup(context)

    def predict(self, x):
        time.sleep({FORWARD_S})
        return x
'''


@dataclass
class Prometheus:
    base: str

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": promql, **({"time": f"{at:.3f}"} if at is not None else {})}
        return self._get("/api/v1/query", params)

    def query_range(self, promql: str, start: float, end: float, step_s: float) -> list[dict[str, Any]]:
        params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step_s)}
        return self._get("/api/v1/query_range", params)

    def value(self, promql: str, at: float | None = None) -> float:
        """The value of a query that must return exactly one series."""
        (series,) = self.query(promql, at)
        return float(series["value"][1])

    def _get(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        body = httpx.get(self.base + path, params=params, timeout=10).json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, int]]:
    model = tmp_path / "slow"
    model.mkdir()
    (model / "model.json").write_text(
        json.dumps(
            {
                "name": "slow",
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
                "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
            }
        )
    )
    (model / "handler.py").write_text(SLOW_HANDLER)
    metrics_port = free_port()
    live = start_server(
        tmp_path,
        LIFTOFF_MODEL_PATH=str(model),
        LIFTOFF_WORKERS="2",
        LIFTOFF_METRICS_PORT=str(metrics_port),
        LIFTOFF_GRPC_PORT="0",
        LIFTOFF_MAX_BATCH_SIZE="1",
        LIFTOFF_DRAIN_TIMEOUT_S="5",
    )
    try:
        wait_both_ready(live)  # before Prometheus starts: these requests are in its first sample
        yield live, metrics_port
    finally:
        stop_server(live)


@pytest.fixture
def prometheus(tmp_path: Path, server: tuple[LiveServer, int]) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    assert binary, "Prometheus is missing: scripts/test-prereqs.sh installs it (make test runs it)"
    _, metrics_port = server
    config = tmp_path / "prometheus.yml"
    config.write_text(
        json.dumps(  # YAML is a superset of JSON
            {
                "global": {"scrape_interval": f"{SCRAPE_S}s", "scrape_timeout": f"{SCRAPE_S}s"},
                "scrape_configs": [
                    {
                        "job_name": f"{NAMESPACE}/{NAME}",
                        "static_configs": [
                            {
                                "targets": [f"127.0.0.1:{metrics_port}"],
                                "labels": {"namespace": NAMESPACE, "pod": POD},
                            }
                        ],
                    }
                ],
            }
        )
    )
    port = free_port()
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    prom = Prometheus(f"http://127.0.0.1:{port}")
    try:
        wait(lambda: prom.query("up == 1") != [], f"Prometheus never scraped the server: {log}", process)
        yield prom
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process is None or process.poll() is None, f"exited: {what}"
        try:
            if condition():
                return
        except (httpx.TransportError, json.JSONDecodeError, ValueError):  # not up, or no series yet
            pass
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def predict(base: str) -> float:
    """One row on a connection of its own (so the kernel picks either worker); the seconds it took."""
    started = time.perf_counter()
    response = httpx.post(base + "/predict", json={"instances": [[1.5, -2.0]]}, timeout=30)
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


def load(base: str) -> list[float]:
    """LOAD requests from CLIENTS threads, each sending its next as soon as the last is answered."""
    latencies: list[float] = []
    errors: list[BaseException] = []

    def client() -> None:
        try:
            for _ in range(LOAD // CLIENTS):
                latencies.append(predict(base))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(latencies) == LOAD
    return latencies


def test_prometheus_counts_every_request_and_the_autoscaler_and_dashboard_read_the_load(
    server: tuple[LiveServer, int], prometheus: Prometheus
) -> None:
    live, _ = server
    answered = f'sum(liftoff_requests_total{{namespace="{NAMESPACE}",route="/predict",status="200"}})'
    predict(live.base)  # the series starts before the load, so a rate over the load sees all of it
    wait(lambda: prometheus.value(answered) == 1, "the first request never reached Prometheus")

    started = time.time()
    latencies = load(live.base)
    ended = time.time()
    sent = 1 + LOAD
    wait(lambda: prometheus.value(answered) == sent, "Prometheus never saw every request")
    at = time.time()  # every query below at this one instant: a rate moves with the time it is read at
    assert (
        prometheus.value(f'sum(liftoff_requests_total{{namespace="{NAMESPACE}",route="/predict"}})', at)
        == sent
    )

    # The autoscaler: rows waiting in the pod, both workers summed; some during the load, none after it.
    queue = queue_depth_query(NAMESPACE, NAME)
    (during,) = prometheus.query_range(queue, started, ended, step_s=0.25)
    waiting = [float(value) for _, value in during["values"]]
    assert 0 < max(waiting) <= CLIENTS, waiting
    assert prometheus.value(queue, at) == 0

    # p95 latency: every request spent at least one forward pass in the server, and no more in the
    # server than the client waited; histogram_quantile answers within the bucket that holds the p95.
    p95 = prometheus.value(p95_latency_query(NAMESPACE), at)
    client_p95 = statistics.quantiles(latencies, n=20)[-1]
    low = max(bound for bound in LATENCY_BUCKETS if bound <= FORWARD_S)
    high = min(bound for bound in LATENCY_BUCKETS if bound >= client_p95)
    assert low <= p95 <= high, (p95, client_p95)

    panels = {
        panel["title"]: panel["targets"][0]["expr"]
        for panel in json.loads(dashboard_json(NAMESPACE))["panels"]
    }
    results = {title: prometheus.query(expr, at) for title, expr in panels.items()}
    assert all(results.values()), [title for title, result in results.items() if not result]

    by_status = {
        s["metric"]["status"]: float(s["value"][1]) for s in results["Requests per second by status"]
    }
    # rate(...[1m]) over a window holding the whole load: its requests / 60 s, more only by Prometheus's
    # extrapolation to the window's edges (at most about two scrape intervals on a load this long).
    assert LOAD / 60 <= by_status["200"] <= LOAD / 60 * (1 + 3 * SCRAPE_S / (ended - started)), by_status
    assert float(results["p95 inference latency"][0]["value"][1]) == p95
    (per_pod,) = results["Queue depth per pod"]  # one series for the pod, not one per worker
    assert per_pod["metric"]["pod"] == POD and "worker" not in per_pod["metric"]
    assert float(per_pod["value"][1]) == 0
    assert float(results["Mean batch size"][0]["value"][1]) == 1  # LIFTOFF_MAX_BATCH_SIZE=1
    rejected = {s["metric"]["reason"]: float(s["value"][1]) for s in results["Rejected per second by reason"]}
    assert rejected == {"queue_full": 0, "draining": 0, "deadline": 0}
    assert float(results["Ready replicas"][0]["value"][1]) == 1
