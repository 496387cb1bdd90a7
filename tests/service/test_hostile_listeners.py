"""Every listener of a real server (HTTP, gRPC, the metrics port) against clients without a key that try to
hold it: silent gRPC connections by the hundred, trickling metrics clients, and the drain at SIGTERM with a
stalled call on each protocol."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from service.grpc.servicer import pb, pb_grpc
from tests.service.live import LiveServer, free_port, start_server

pytestmark = pytest.mark.slow
KEY = "k-hostile-listeners-0001"
BEARER = [("authorization", f"Bearer {KEY}")]
OPEN_FILES = 512
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def _server(folder: Path, **env: str) -> tuple[LiveServer, int, int]:
    grpc_port, metrics_port = free_port(), free_port()
    live = start_server(
        folder,
        open_files=OPEN_FILES,
        LIFTOFF_API_KEYS=KEY,
        LIFTOFF_GRPC_PORT=str(grpc_port),
        LIFTOFF_METRICS_PORT=str(metrics_port),
        **env,
    )
    return live, grpc_port, metrics_port


def _threads_and_files(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    threads = int(next(line for line in status.splitlines() if line.startswith("Threads:")).split()[1])
    return threads, len(os.listdir(f"/proc/{pid}/fd"))


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[tuple[LiveServer, int, int]]:
    live, grpc_port, metrics_port = _server(tmp_path, LIFTOFF_HEADER_TIMEOUT_S="3")
    yield live, grpc_port, metrics_port
    live.stop()


def test_silent_grpc_connections_by_the_hundred_leave_the_probes_and_keyed_clients_served(
    hostile: tuple[LiveServer, int, int],
) -> None:
    live, grpc_port, _ = hostile
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as keyed:
        stub = pb_grpc.GRPCInferenceServiceStub(keyed)
        assert stub.ServerReady(pb.ServerReadyRequest(), metadata=BEARER, timeout=10).ready
        silent = []
        for _ in range(OPEN_FILES + 48):
            try:
                sock = socket.create_connection(("127.0.0.1", grpc_port), timeout=5)
                sock.sendall(PREFACE)
                silent.append(sock)
            except OSError:
                break
        try:
            time.sleep(0.5)
            assert httpx.get(live.base + "/readyz", timeout=5).status_code == 200
            assert httpx.get(live.base + "/healthz", timeout=5).status_code == 200
            # The channel opened before the flood keeps its connection and is served.
            assert stub.ServerReady(pb.ServerReadyRequest(), metadata=BEARER, timeout=5).ready
            _, files = _threads_and_files(live.process.pid)
            assert files < OPEN_FILES - 64, files
            time.sleep(5)  # past the handshake and idle timeouts (3 s): the silent ones are closed
            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as fresh:
                fresh_stub = pb_grpc.GRPCInferenceServiceStub(fresh)
                assert fresh_stub.ServerReady(pb.ServerReadyRequest(), metadata=BEARER, timeout=10).ready
        finally:
            for sock in silent:
                sock.close()


def test_trickling_metrics_clients_pile_up_neither_threads_nor_files(
    hostile: tuple[LiveServer, int, int],
) -> None:
    live, _, metrics_port = hostile
    threads_before, _ = _threads_and_files(live.process.pid)
    stop = threading.Event()
    socks: list[socket.socket] = []

    def trickle() -> None:
        while not stop.is_set():
            for sock in list(socks):
                try:
                    sock.send(b"G")
                except OSError:
                    socks.remove(sock)
            stop.wait(1.0)

    for _ in range(200):
        try:
            socks.append(socket.create_connection(("127.0.0.1", metrics_port), timeout=5))
        except OSError:
            break
    feeder = threading.Thread(target=trickle, daemon=True)
    feeder.start()
    try:
        time.sleep(2)
        threads, files = _threads_and_files(live.process.pid)
        assert threads < threads_before + 24, (threads_before, threads)
        assert files < OPEN_FILES - 64, files
        scrape = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        assert scrape.status_code == 200 and "liftoff_requests_total" in scrape.text
        assert httpx.get(live.base + "/readyz", timeout=5).status_code == 200
    finally:
        stop.set()
        feeder.join(timeout=5)
        for sock in socks:
            sock.close()


def test_sigterm_drains_every_listener_by_one_deadline_and_grpc_takes_no_new_call(tmp_path: Path) -> None:
    drain_s = 6.0
    live, grpc_port, _ = _server(tmp_path, LIFTOFF_DRAIN_TIMEOUT_S=str(drain_s), LIFTOFF_BODY_TIMEOUT_S="60")
    try:
        trickling = live.connect()
        trickling.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + KEY.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        assert stub.ServerReady(pb.ServerReadyRequest(), metadata=BEARER, timeout=10).ready
        stalled = channel.stream_unary(
            "/inference.GRPCInferenceService/ModelInfer",
            request_serializer=lambda m: m,
            response_deserializer=lambda m: m,
        ).future(iter(threading.Event().wait, True), metadata=BEARER)  # a request stream that never yields
        time.sleep(0.5)
        started = time.monotonic()
        live.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(grpc.RpcError) as refused:
            stub.ServerReady(pb.ServerReadyRequest(), metadata=BEARER, timeout=5)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        live.process.wait(timeout=60)
        elapsed = time.monotonic() - started
        # One deadline for both (the drain timeout less its margin), not one after the other.
        assert elapsed < drain_s + 1.5, elapsed
        stalled.cancel()
        channel.close()
        trickling.close()
    finally:
        live.stop()
