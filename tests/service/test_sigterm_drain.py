"""SIGTERM against a real `python -m service`: readiness fails at once, accepted requests finish and succeed,
and the process exits within LIFTOFF_DRAIN_TIMEOUT_S."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import torch
from torch import nn

from tests.service.live import LiveServer
from tests.service.live import start_server as start_live_server

pytestmark = pytest.mark.slow


class Slow(nn.Module):
    """Answers y = x after x rounds of matrix work (400 rounds: 0.2 to 2 s on one core), so the
    warm-up (zeros) is instant and each request chooses how long it keeps the server busy."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((256, 256), 1.0 / 256), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.ones(256, 256)
        for _ in range(int(x.abs().max().item())):
            h = torch.tanh(h @ self.weight)
        return x + 0.0 * h.mean()


def slow_model(folder: Path) -> Path:
    path = folder / "slow.pt"
    torch.jit.save(torch.jit.script(Slow()), str(path))
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "name": "slow",
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 1]}],
                "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}],
            }
        )
    )
    return path


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator:
    started: list[LiveServer] = []

    def start(
        model: Path | None, drain_timeout_s: float, **extra_env: str
    ) -> tuple[subprocess.Popen[bytes], str]:
        server = start_live_server(
            tmp_path,
            LIFTOFF_MAX_BATCH_SIZE="1",
            LIFTOFF_QUEUE_LIMIT="16",
            LIFTOFF_DRAIN_TIMEOUT_S=str(drain_timeout_s),
            **({"LIFTOFF_MODEL_PATH": str(model)} if model else {}),
            **extra_env,
        )
        started.append(server)
        return server.process, server.base

    yield start
    for server in started:
        server.stop()


def in_flight(base: str) -> float:
    for line in httpx.get(base + "/metrics", timeout=5).text.splitlines():
        if line.startswith("liftoff_requests_in_flight "):
            return float(line.split()[1])
    raise AssertionError("no in-flight gauge")


def post_in_background(base: str, value: float, results: dict[float, object]) -> threading.Thread:
    def call() -> None:
        try:
            response = httpx.post(base + "/predict", json={"instances": [[value]]}, timeout=60)
            results[value] = (response.status_code, response.json(), response.headers.get("retry-after"))
        except httpx.HTTPError as exc:
            results[value] = exc

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def wait_until_in_flight(base: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while in_flight(base) < count + 1:  # +1: the metrics scrape itself
        assert time.monotonic() < deadline, "requests never got in flight"
        time.sleep(0.02)


def test_sigterm_drains_accepted_requests_then_exits_within_the_drain_timeout(
    start_server, tmp_path: Path
) -> None:
    drain_timeout_s = 40.0
    proc, base = start_server(slow_model(tmp_path), drain_timeout_s)
    results: dict[float, object] = {}
    values = (400.0, 401.0, 402.0)  # each a fraction of a second to a few seconds of work
    threads = [post_in_background(base, value, results) for value in values]
    wait_until_in_flight(base, 3)  # one in a forward pass, two queued behind it (batch size 1)

    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(httpx.TransportError):  # readiness is gone at once: refused, or 503
        assert httpx.get(base + "/readyz", timeout=5).status_code == 503

    for thread in threads:
        thread.join(timeout=60)
    assert results == {v: (200, {"predictions": [[v]]}, None) for v in values}
    proc.wait(timeout=drain_timeout_s + 10)
    exited_after = time.monotonic() - sent
    assert exited_after < drain_timeout_s
    assert proc.returncode in (0, -signal.SIGTERM)
    assert "SIGTERM: readiness is down" in next(tmp_path.glob("server-*.log")).read_text()


def test_a_request_longer_than_the_drain_timeout_does_not_hold_the_exit(start_server, tmp_path: Path) -> None:
    drain_timeout_s = 4.0
    proc, base = start_server(slow_model(tmp_path), drain_timeout_s)
    results: dict[float, object] = {}
    thread = post_in_background(base, 1e6, results)  # minutes of work
    wait_until_in_flight(base, 1)

    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=drain_timeout_s + 10)
    assert time.monotonic() - sent < drain_timeout_s
    thread.join(timeout=10)
    # Cut off, as the timeout says, with a 503 that tells the client to retry elsewhere.
    status, body, retry_after = results[1e6]  # type: ignore[misc]
    assert (status, retry_after) == (503, "1") and "shut down" in body["error"]


def test_several_workers_share_the_port_and_all_drain_on_sigterm(start_server, tmp_path: Path) -> None:
    drain_timeout_s = 10.0
    proc, base = start_server(None, drain_timeout_s, LIFTOFF_WORKERS="2")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the port answers ready once; wait until both workers are
        if all(httpx.get(base + "/readyz", timeout=5).status_code == 200 for _ in range(6)):
            break
        time.sleep(0.2)
    response = httpx.post(base + "/predict", json={"instances": [[0.0] * 64]}, timeout=30)
    assert response.status_code == 200 and len(response.json()["predictions"][0]["probabilities"]) == 10

    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=drain_timeout_s + 10)
    assert time.monotonic() - sent < drain_timeout_s
    log = next(tmp_path.glob("server-*.log")).read_text()
    assert log.count("SIGTERM: readiness is down") == 2, log
