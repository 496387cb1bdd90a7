"""An app with its model loaded, and a gRPC server (servicer, health, metrics) for its state on a free
127.0.0.1 port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc

from service.app import ModelLoader, create_app
from service.auth import KeyStore
from service.grpc.listener import build_server
from service.model.startup import prepare_model
from service.settings import Settings
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


@contextlib.asynccontextmanager
async def ready_state(settings: Settings, load: ModelLoader = prepare_model) -> AsyncIterator[ServerState]:
    """The app's state within its lifespan, once the model is ready (a minute at most: a busy machine)."""
    app = create_app(settings, load=load)
    state: ServerState = app.state.liftoff
    async with app.router.lifespan_context(app):
        for _ in range(3000):
            if state.ready or state.load_error:
                break
            await asyncio.sleep(0.02)
        assert state.ready, state.load_error
        yield state
