"""A real `python -m service` whose model loads until the test lets it finish: gRPC answers meanwhile."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from tests.service.conftest import handler_model
from tests.service.live import REPO, free_port, wait_for_port

SLOW_HANDLER = """
import time
from pathlib import Path

import numpy as np

from service.handler import Handler


class Slow(Handler):
    \"\"\"Loads until the file `go` appears beside it: a model still loading, for as long as the test wants.\"\"\"

    def setup(self, context):
        while not (context.directory / "go").exists():
            time.sleep(0.05)

    def predict(self, x):
        return x
"""


def slow_model(folder: Path) -> Path:
    metadata = {
        "name": "slow",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
    }
    return handler_model(folder, metadata, SLOW_HANDLER)


def serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "service"],
            cwd=REPO,
            env={
                **{name: value for name, value in os.environ.items() if name != "LIFTOFF_GRPC_PORT"},
                "LIFTOFF_HOST": "127.0.0.1",
                "LIFTOFF_TORCH_THREADS": "1",
                **env,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@contextlib.contextmanager
def loading_server(folder: Path) -> Iterator[tuple[int, Callable[[], None]]]:
    """The gRPC port of a server whose model `slow` is loading, and a call that lets it finish and waits
    until the server is ready."""
    model = slow_model(folder)
    http_port, grpc_port = free_port(), free_port()
    log = folder / "server.log"
    env = {
        "LIFTOFF_MODEL_PATH": str(model),
        "LIFTOFF_PORT": str(http_port),
        "LIFTOFF_GRPC_PORT": str(grpc_port),
    }
    process = serve(env, log)

    def finish_loading() -> None:
        (model / "go").touch()
        deadline = time.monotonic() + 120
        while httpx.get(f"http://127.0.0.1:{http_port}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    try:
        wait_for_port(grpc_port, process, log, timeout_s=120)
        yield grpc_port, finish_loading
    finally:
        process.kill()
        process.wait(timeout=10)
