"""An app (lifespan: model load, batcher) with the gRPC server (servicer, health, metrics) on a free 127.0.0.1
port, and a stub to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from service.app import ModelLoader
from service.grpc.servicer import pb_grpc
from service.model.startup import prepare_model
from service.settings import Settings
from service.state import ServerState
from tests.service.grpc.channel import grpc_channel, ready_state


@pytest.fixture
def grpc_serve() -> Callable[..., Any]:
    @contextlib.asynccontextmanager
    async def serving(
        settings: Settings, load: ModelLoader = prepare_model
    ) -> AsyncIterator[tuple[Any, ServerState]]:
        async with ready_state(settings, load) as state, grpc_channel(state) as channel:
            yield pb_grpc.GRPCInferenceServiceStub(channel), state

    return serving
