"""At the connection cap with every connection busy on a request, a newcomer is told 503 + Retry-After and
counted, and the busy requests are answered. Against a real server on 127.0.0.1 whose
model sleeps, so its connections stay busy without burning a core."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.live import LiveServer, read_response, start_server

pytestmark = pytest.mark.slow

MAX_CONNECTIONS = 4
SLEEP_S = 2.0
"""How long each busy request keeps the model (and so its connection) busy; warm-up sends zeros: instant."""
AT_CAPACITY = 'liftoff_connections_closed_total{reason="at_capacity"}'

SLEEPY_HANDLER = """
import time

from service.handler import Handler


class Sleepy(Handler):
    def setup(self, context):
        super().setup(context)

    def predict(self, x):
        time.sleep(float(x.max()))
        return x
"""


def sleepy_model(folder: Path) -> Path:
    root = folder / "sleepy"
    root.mkdir()
    spec = {"datatype": "FP32", "shape": [-1, 1]}
    metadata = {"name": "sleepy", "inputs": [{"name": "x", **spec}], "outputs": [{"name": "y", **spec}]}
    (root / "model.json").write_text(json.dumps(metadata))
    (root / "handler.py").write_text(SLEEPY_HANDLER)
    return root


def post(server: LiveServer, value: float) -> socket.socket:
    body = json.dumps({"instances": [[value]]}).encode()
    sock = server.connect(timeout_s=30)
    sock.sendall(
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return sock


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("cap")
    live = start_server(
        folder,
        LIFTOFF_MODEL_PATH=str(sleepy_model(folder)),
        LIFTOFF_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
        LIFTOFF_MAX_BATCH_SIZE=str(MAX_CONNECTIONS),
    )
    yield live
    live.stop()


def test_at_the_cap_with_every_connection_busy_a_newcomer_gets_503_retry_after_and_is_counted(
    server: LiveServer,
) -> None:
    before = server.metric(AT_CAPACITY)
    busy = [post(server, SLEEP_S) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(SLEEP_S / 2)  # every request read and in the model: no connection can give way
        with post(server, 0.0) as newcomer:
            answer = read_response(newcomer)
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        assert head.startswith(b"http/1.1 503 "), answer[:300]
        assert b"retry-after: 1" in head and b"connection: close" in head
        assert b"connection limit" in answer
        assert [read_response(sock).split(b" ", 2)[1] for sock in busy] == [b"200"] * MAX_CONNECTIONS
    finally:
        for sock in busy:
            sock.close()
    assert server.metric(AT_CAPACITY) == before + 1
