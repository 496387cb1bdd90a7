"""Hostile HTTP clients against a real server on 127.0.0.1: a request head too large or with too many
headers whatever its read boundaries, pipelining that must still work, methods that must not grow the
metric labels, query strings kept out of the access log, and a client that never reads its answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.service.live import LiveServer, read_response, start_server

pytestmark = pytest.mark.slow

SECRET = "qs_secret_4b1d9e0f7a"
CLOSED = 'liftoff_connections_closed_total{reason="'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("hostile-http"), LIFTOFF_LOG_LEVEL="debug")
    yield live
    live.stop()


def _exchange(server: LiveServer, raw: bytes) -> bytes:
    with server.connect() as sock:
        sock.sendall(raw)
        return read_response(sock)


def test_a_head_over_the_limit_in_one_write_gets_431(server: LiveServer) -> None:
    headers = b"".join(b"x-pad-%d: %s\r\n" % (i, b"a" * 2000) for i in range(50))  # 100 KB
    answer = _exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"32768 bytes" in answer


def test_too_many_headers_get_431_before_the_request_runs(server: LiveServer) -> None:
    before = server.metric(CLOSED + 'header_too_large"}')
    headers = b"".join(b"h%d: v\r\n" % i for i in range(200))
    answer = _exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"more than 100 headers" in answer
    assert server.metric(CLOSED + 'header_too_large"}') == before + 1


def test_ordinary_requests_pipelined_past_the_header_limit_in_one_write_are_all_answered(
    server: LiveServer,
) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nx-pad: " + b"b" * 400 + b"\r\n\r\n"
    count = 600  # about 260 KB in one write, each head under 500 bytes: reads end inside a request
    with server.connect() as sock:
        sock.sendall(request * (count - 1) + request.replace(b"Host: x", b"Host: x\r\nConnection: close"))
        answer = read_response(sock)
    assert answer.count(b"HTTP/1.1 200 ") == count, answer[:300]
    assert b" 431 " not in answer


def test_methods_the_server_does_not_know_share_one_metric_label(server: LiveServer) -> None:
    for method in ["PROPFIND", "MKCOL", "LOCK", "ZZZZ1", "ZZZZ2"]:
        _exchange(server, f"{method} /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    text = httpx.get(server.base + "/metrics", timeout=10).text
    methods = {
        line.split('method="', 1)[1].split('"', 1)[0]
        for line in text.splitlines()
        if line.startswith("liftoff_requests_total{") and 'method="' in line
    }
    assert "other" in methods
    assert methods <= {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other", "gRPC"}, methods


def test_a_key_in_a_query_string_never_reaches_the_access_log(server: LiveServer) -> None:
    httpx.get(f"{server.base}/healthz?api_key={SECRET}&x=1", timeout=10)
    httpx.get(f"{server.base}/v2/models/digits?token={SECRET}", timeout=10)
    time.sleep(0.5)
    log = server.log.read_text()
    assert "GET /healthz HTTP/1.1" in log  # the access log is on at debug level
    assert SECRET not in log


def test_a_client_that_never_reads_its_answers_is_dropped_and_holds_no_slot(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    live = start_server(
        tmp_path_factory.mktemp("send-timeout"), LIFTOFF_MAX_CONNECTIONS="2", LIFTOFF_SEND_TIMEOUT_S="1"
    )
    try:
        stalled = []
        for _ in range(2):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", live.port))
            # Thousands of answers asked for in one go and none read: the server's buffers fill.
            sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 3000)
            stalled.append(sock)
        time.sleep(0.5)
        # Both slots are taken by clients that read nothing; the probe still gets in at once.
        assert httpx.get(live.base + "/readyz", timeout=5).status_code == 200
        time.sleep(3)  # the send timeout (1 s) and a sweep, with no other connection made meanwhile
        assert live.metric(CLOSED + 'send_timeout"}') >= 1
        for sock in stalled:
            sock.close()
    finally:
        live.stop()
