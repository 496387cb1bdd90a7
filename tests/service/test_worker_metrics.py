"""Metrics across workers (service/metrics.py) and on a port of their own (service/metrics_port.py).

The merging is proven with forked processes that write as workers do; the server's wiring with real
`python -m service` processes (two workers on the main port, one worker on the metrics port). A real
Prometheus scraping a loaded two-worker server is in test_metrics_in_prometheus.py.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError
from torch import nn

from service import metrics_port
from service.metrics import Metrics, forget_worker, share_across_workers, workers_registry
from service.settings import Settings
from tests.service.conftest import write_model
from tests.service.live import REPO, LiveServer, free_port, start_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def identity_model(tmp_path: Path) -> Path:
    """y = x: the answers are the requests, and loading takes no time."""
    metadata = {
        "name": "identity",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
    }
    return write_model(nn.Identity(), tmp_path / "identity.pt", metadata)


def _as_worker(directory: Path, index: int, record: Callable[[Metrics], None]) -> None:
    """In a forked child: what a worker does before its app is built, then `record`."""
    share_across_workers(directory, index)
    record(Metrics())


def _run_as_worker(directory: Path, index: int, record: Callable[[Metrics], None]) -> None:
    child = multiprocessing.get_context("fork").Process(target=_as_worker, args=(directory, index, record))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0


def _answered(count: int, connections: int, queued: int) -> Callable[[Metrics], None]:
    def record(metrics: Metrics) -> None:
        metrics.requests.labels(route="/predict", method="POST", status="200").inc(count)
        metrics.request_seconds.labels(route="/predict").observe(0.003)
        metrics.connections_open.set(connections)
        metrics.queue_depth.set(queued)

    return record


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
    }


def test_counters_and_histograms_are_summed_and_gauges_summed_or_per_worker(tmp_path: Path) -> None:
    _run_as_worker(tmp_path, 0, _answered(count=3, connections=2, queued=5))
    _run_as_worker(tmp_path, 1, _answered(count=4, connections=7, queued=1))
    samples = _samples(workers_registry(tmp_path))
    assert (
        samples["liftoff_requests_total", (("method", "POST"), ("route", "/predict"), ("status", "200"))] == 7
    )
    assert samples["liftoff_request_duration_seconds_count", (("route", "/predict"),)] == 2
    assert samples["liftoff_request_duration_seconds_bucket", (("le", "0.005"), ("route", "/predict"))] == 2
    assert samples["liftoff_queue_depth", ()] == 6  # the pod's rows waiting: one sum, no worker label
    assert samples["liftoff_connections_open", (("worker", "0"),)] == 2
    assert samples["liftoff_connections_open", (("worker", "1"),)] == 7
    assert not [key for key in samples if ("pid", "0") in key[1] or ("pid", "1") in key[1]]


def test_a_dead_workers_gauges_leave_and_its_replacement_counts_on(tmp_path: Path) -> None:
    _run_as_worker(tmp_path, 0, _answered(count=3, connections=2, queued=5))
    _run_as_worker(tmp_path, 1, _answered(count=4, connections=7, queued=1))
    forget_worker(tmp_path, 1)
    samples = _samples(workers_registry(tmp_path))
    assert samples["liftoff_queue_depth", ()] == 5
    assert ("liftoff_connections_open", (("worker", "1"),)) not in samples
    total = ("liftoff_requests_total", (("method", "POST"), ("route", "/predict"), ("status", "200")))
    assert samples[total] == 7  # what the dead worker answered still counts
    _run_as_worker(tmp_path, 1, _answered(count=1, connections=0, queued=0))  # its replacement
    assert _samples(workers_registry(tmp_path))[total] == 8


def test_one_process_keeps_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.requests.labels(route="/predict", method="POST", status="200").inc()
    assert first.registry is not second.registry
    labels = {"route": "/predict", "method": "POST", "status": "200"}
    assert first.registry.get_sample_value("liftoff_requests_total", labels) == 1
    assert second.registry.get_sample_value("liftoff_requests_total", labels) is None


def test_the_metrics_port_serves_get_metrics_and_nothing_else() -> None:
    registry = CollectorRegistry()
    Counter("probe_total", "a counter the test reads back", registry=registry).inc(5)
    sock = metrics_port.bind("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with metrics_port.serving_in_thread(sock, registry):
        response = httpx.get(base + "/metrics", timeout=5)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert "probe_total 5.0" in response.text
        for path in ("/", "/v2/models/digits/infer", "/metrics/x"):
            missing = httpx.get(base + path, timeout=5)
            assert missing.status_code == 404
            assert missing.json() == {"error": "not found: this port serves GET /metrics only"}
    with pytest.raises(httpx.TransportError):
        httpx.get(base + "/metrics", timeout=2)


async def test_with_a_metrics_port_the_main_port_does_not_serve_them(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model, metrics_port=free_port())) as client:
        response = await client.get("/metrics")
    assert response.status_code == 404
    assert "LIFTOFF_METRICS_PORT" in response.json()["error"]


def test_the_metrics_port_must_differ_from_the_others() -> None:
    for clash in ({"port": 9100}, {"grpc_port": 9100}):
        with pytest.raises(ValidationError, match=r"LIFTOFF_METRICS_PORT \(9100\) must differ"):
            Settings(metrics_port=9100, **clash)  # type: ignore[arg-type]


def _predict(base: str) -> None:
    """One request on a connection of its own, so the kernel picks a worker for each."""
    response = httpx.post(base + "/predict", json={"instances": [[1.5, -2.0]]}, timeout=10)
    assert response.status_code == 200, response.text


def _metric(text: str, line_start: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start))


PREDICTED = 'liftoff_requests_total{method="POST",route="/predict",status="200"}'


@pytest.mark.slow
def test_every_workers_metrics_answer_a_scrape_of_any_worker_even_after_one_died(
    tmp_path: Path, identity_model: Path
) -> None:
    folders = tmp_path / "tmp"
    folders.mkdir()
    server = start_server(
        tmp_path,
        LIFTOFF_MODEL_PATH=str(identity_model),
        LIFTOFF_WORKERS="2",
        LIFTOFF_GRPC_PORT="0",
        LIFTOFF_DRAIN_TIMEOUT_S="5",
        TMPDIR=str(folders),  # where the parent makes its private metrics folder
    )
    try:
        wait_both_ready(server)
        sent = 40
        for _ in range(sent):
            _predict(server.base)
        for _ in range(6):  # each scrape on a new connection: the kernel picks either worker
            text = httpx.get(server.base + "/metrics", timeout=10).text
            assert _metric(text, PREDICTED) == sent
            assert 'liftoff_connections_open{worker="0"}' in text
            assert 'liftoff_connections_open{worker="1"}' in text
        stats = httpx.get(server.base + "/v2/models/identity/stats", timeout=10).json()["model_stats"][0]
        assert stats["inference_count"] == sent  # rows through the model, both workers'
        assert stats["inference_stats"]["success"]["count"] == sent
        (folder,) = folders.iterdir()
        assert folder.stat().st_mode & 0o777 == 0o700

        victim = min(child.pid for child in psutil.Process(server.process.pid).children())
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: _two_workers(server.process.pid, victim), "the dead worker was not replaced")
        _wait_for(lambda: _both_ready(server.base), "the new worker never became ready")
        for _ in range(4):
            _predict(server.base)
        for _ in range(6):
            assert _metric(httpx.get(server.base + "/metrics", timeout=10).text, PREDICTED) == sent + 4

        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0, server.log.read_text()
        assert not list(folders.iterdir()), "the metrics folder outlived the server"
    finally:
        stop_server(server)


def wait_both_ready(server: LiveServer) -> None:
    _wait_for(lambda: _both_ready(server.base), "both workers never became ready")


def stop_server(server: LiveServer) -> None:
    """SIGTERM (the parent stops its workers, then exits), else SIGKILL to whatever is left of the tree."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(server.process.pid).children(recursive=True):
                child.kill()
    server.stop()


def _both_ready(base: str) -> bool:
    """Ten readiness answers in a row, each on a new connection: both workers have loaded the model
    (a worker still loading would answer about half of them)."""
    return all(httpx.get(base + "/readyz", timeout=5).status_code == 200 for _ in range(10))


def _two_workers(parent: int, victim: int) -> bool:
    children = {child.pid for child in psutil.Process(parent).children()}
    return len(children) == 2 and victim not in children


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if condition():
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.mark.slow
def test_one_worker_serves_its_metrics_on_the_metrics_port_only(tmp_path: Path, identity_model: Path) -> None:
    port = free_port()
    server = start_server(
        tmp_path,
        LIFTOFF_MODEL_PATH=str(identity_model),
        LIFTOFF_METRICS_PORT=str(port),
        LIFTOFF_GRPC_PORT="0",
    )
    try:
        _predict(server.base)
        assert httpx.get(server.base + "/metrics", timeout=10).status_code == 404
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert _metric(text, PREDICTED) == 1
        assert 'liftoff_connections_open{worker="0"}' not in text  # one process: no worker label
    finally:
        server.stop()


@pytest.mark.slow
def test_a_taken_metrics_port_stops_start_up_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "service"],
            cwd=REPO,
            env={**os.environ, "LIFTOFF_METRICS_PORT": str(port), "LIFTOFF_PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2
    assert f"cannot listen on LIFTOFF_METRICS_PORT={port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr
