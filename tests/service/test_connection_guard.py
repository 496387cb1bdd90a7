"""Slow, silent and oversized clients against a real server on 127.0.0.1: each is
answered as HTTP servers do (408, 431, 503) and counted, and the server keeps serving everyone else."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.service.live import LiveServer, read_response, start_server

pytestmark = pytest.mark.slow

OPEN_FILES = 256
"""The server's open-file limit here: the cap follows it (256 less a reserve of 128), so a few hundred
silent sockets were enough to stop it answering anyone before the guard."""
CLOSED = 'liftoff_connections_closed_total{reason="'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("guard"),
        open_files=OPEN_FILES,
        LIFTOFF_HEADER_TIMEOUT_S="1",
        LIFTOFF_BODY_TIMEOUT_S="1",
        LIFTOFF_MAX_HEADER_BYTES="8192",
    )
    yield live
    live.stop()


def test_headers_that_stop_arriving_get_408_then_the_connection_closes(server: LiveServer) -> None:
    before = server.metric(CLOSED + 'header_timeout"}')
    with server.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert server.metric(CLOSED + 'header_timeout"}') == before + 1


def test_a_connection_that_sends_nothing_is_closed_at_the_header_timeout(server: LiveServer) -> None:
    with server.connect() as sock:
        assert read_response(sock) == b""  # closed, with nothing to answer


def test_a_body_that_stops_arriving_gets_408_and_counts_as_408(server: LiveServer) -> None:
    before = server.metric(CLOSED + 'body_timeout"}')
    with server.connect() as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 500\r\n\r\n{"instances": [[0, 0'
        )
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert server.metric(CLOSED + 'body_timeout"}') == before + 1
    assert server.metric('liftoff_requests_total{method="POST",route="/predict",status="408"}') >= 1


def test_headers_over_the_limit_get_431_without_being_read_to_the_end(server: LiveServer) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        with contextlib.suppress(OSError):  # the server may close while this is still sending
            for _ in range(64):
                sock.sendall(b"a" * 4096)
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert server.metric(CLOSED + 'header_too_large"}') >= 1


def test_with_silent_connections_past_the_open_file_limit_probes_and_requests_are_served(
    server: LiveServer,
) -> None:
    silent: list[socket.socket] = []
    try:
        for _ in range(OPEN_FILES + 100):
            silent.append(server.connect())
        # Each new connection takes the place of the longest-silent one; the probe and a real request
        # are answered while the attacker still holds everything else.
        assert httpx.get(server.base + "/readyz", timeout=10).status_code == 200
        response = httpx.post(server.base + "/predict", json={"instances": [[0.0] * 64]}, timeout=10)
        assert response.status_code == 200
        assert server.metric(CLOSED + 'evicted"}') >= 100
        assert server.metric("liftoff_connections_open ") <= OPEN_FILES - 128
    finally:
        for sock in silent:
            sock.close()
