"""LIFTOFF_WORKERS=2 against a real `python -m service`: two forked workers share the port, a dead worker is
replaced, and SIGTERM stops them all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
import torch
from torch import nn

from service.workers import threads_per_worker
from tests.service.live import start_server

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]


def test_each_worker_gets_an_equal_share_of_the_cores_unless_told() -> None:
    cores = os.cpu_count() or 1
    assert threads_per_worker(2, 0) == max(1, cores // 2)
    assert threads_per_worker(cores * 4, 0) == 1
    assert threads_per_worker(2, 3) == 3


def _model(folder: Path) -> Path:
    path = folder / "double.pt"
    torch.jit.save(torch.jit.script(nn.Identity()), str(path))
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "name": "double",
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
                "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
            }
        )
    )
    return path


def _workers(proc: subprocess.Popen[bytes]) -> set[int]:
    return {child.pid for child in psutil.Process(proc.pid).children()}


def _wait(condition, what: str, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _answers(base: str) -> bool:
    try:
        response = httpx.post(base + "/predict", json={"instances": [[1.5, -2.0]]}, timeout=10)
    except httpx.TransportError:
        return False
    return response.status_code == 200 and response.json() == {"predictions": [[1.5, -2.0]]}


def test_two_workers_share_the_port_are_replaced_when_killed_and_stop_on_sigterm(tmp_path: Path) -> None:
    server = start_server(
        tmp_path,
        LIFTOFF_MODEL_PATH=str(_model(tmp_path)),
        LIFTOFF_WORKERS="2",
        LIFTOFF_DRAIN_TIMEOUT_S="5",
        LIFTOFF_TORCH_THREADS="0",  # the default with workers: the cores divided among them
    )
    proc, base, log = server.process, server.base, server.log
    try:
        _wait(lambda: len(_workers(proc)) == 2, "two workers never started")
        _wait(lambda: _answers(base), "the server never answered")
        first = _workers(proc)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        _wait(
            lambda: len(_workers(proc)) == 2 and victim not in _workers(proc),
            "the dead worker was not replaced",
        )
        _wait(lambda: all(_answers(base) for _ in range(10)), "the server stopped answering")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
        assert not any(
            psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
            for pid in _workers_left(first, victim)
        )
    finally:
        server.stop()


def _workers_left(first: set[int], victim: int) -> set[int]:
    return first - {victim}


SUPERVISED = """
import os, signal, socket, sys, time
from service.workers import run_workers

def note(what):
    with open(sys.argv[1], "a") as log:
        log.write(f"{what} {time.monotonic()}\\n")

def serve(sock, index):
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    note(f"up worker{index}")
    while not stopping:
        time.sleep(0.01)
    time.sleep(0.5)  # draining
    note(f"drained worker{index}")
    return 0

def sidecar():
    signal.signal(signal.SIGTERM, lambda *_: (note("stopped sidecar"), os._exit(0)))
    note("up sidecar")
    while True:
        time.sleep(0.01)

sys.exit(run_workers(2, socket.socket, serve, sidecar, exited=lambda index: note(f"exited worker{index}")))
"""


def test_the_sidecar_outlives_the_draining_workers_and_each_exit_is_reported(tmp_path: Path) -> None:
    """The metrics server stops last, so the workers' last counts can be scraped while they drain."""
    log = tmp_path / "events"
    proc = subprocess.Popen([sys.executable, "-c", SUPERVISED, str(log)], cwd=REPO)
    try:
        _wait(lambda: log.exists() and log.read_text().count("up ") == 3, "the children never started", 30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    events = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in log.read_text().splitlines()}
    assert events["stopped sidecar"] > max(events["drained worker0"], events["drained worker1"])
    assert {"exited worker0", "exited worker1"} <= events.keys()
