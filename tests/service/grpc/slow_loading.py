"""A real `python -m service` whose model loads until the test lets it finish: gRPC answers meanwhile."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.service.conftest import handler_model
from tests.service.live import free_port, spawn_server, wait_for_port

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


@contextlib.contextmanager
def loading_server(folder: Path) -> Iterator[tuple[int, Callable[[], None]]]:
    """The gRPC port of a server whose model `slow` is loading, and a call that lets it finish and waits
    until the server is ready."""
    model = slow_model(folder)
    grpc_port = free_port()
    server = spawn_server(folder, LIFTOFF_MODEL_PATH=str(model), LIFTOFF_GRPC_PORT=str(grpc_port))

    def finish_loading() -> None:
        (model / "go").touch()
        server.wait_ready()

    try:
        wait_for_port(grpc_port, server.process, server.log, timeout_s=120)
        yield grpc_port, finish_loading
    finally:
        server.stop()
