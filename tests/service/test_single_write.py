"""Each response leaves the server in one write: a replica killed between two writes
would leave the proxy holding headers it has already forwarded, a request no proxy can retry."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState as UvicornState

from service.connections import ConnectionGuard, ConnectionLimits
from service.metrics import Metrics

pytestmark = pytest.mark.anyio


class RecordingTransport(asyncio.Transport):
    """Records each write the protocol makes; each one would be a send() on a real socket."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def answer(scope: Any, receive: Any, send: Any) -> None:
    """An app that answers as Starlette's Response does: the start message, then the body."""
    await receive()
    body = b'{"predictions": [1]}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def test_headers_and_body_of_a_response_go_out_in_one_write() -> None:
    limits = ConnectionLimits(
        header_timeout_s=10, body_timeout_s=10, max_header_bytes=8192, max_connections=10
    )
    protocol_class = ConnectionGuard(limits, Metrics()).protocol_class()
    config = uvicorn.Config(answer, log_config=None, lifespan="off")
    protocol = protocol_class(config=config, server_state=UvicornState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    for _ in range(50):  # let the request's task run and the write go out
        if transport.writes:
            break
        await asyncio.sleep(0.01)
    assert len(transport.writes) == 1, transport.writes
    response = transport.writes[0]
    assert response.startswith(b"HTTP/1.1 200 OK\r\n") and response.endswith(b'\r\n\r\n{"predictions": [1]}')
    protocol.connection_lost(None)
