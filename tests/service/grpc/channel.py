"""A gRPC server (servicer, health, metrics) for a test's app state, on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc

from service.auth import KeyStore
from service.grpc.listener import build_server
from service.state import ServerState


@contextlib.asynccontextmanager
async def grpc_channel(state: ServerState, keys: KeyStore | None = None) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to a gRPC server for `state`, stopped at once when the block ends."""
    server, port = build_server(state, keys or KeyStore(), "127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        await server.stop(grace=None)
