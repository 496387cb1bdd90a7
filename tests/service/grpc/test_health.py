"""grpc.health.v1.Health answers from readiness: NOT_SERVING before the model loads and once a drain begins,
SERVING in between; open without a key, as /readyz is."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.app import create_app
from service.auth import KeyStore
from service.settings import Settings
from service.state import ServerState
from tests.service.grpc.channel import grpc_channel

pytestmark = pytest.mark.anyio
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_check_follows_readiness_from_load_to_drain(linear_model: Path) -> None:
    app = create_app(Settings(model_path=linear_model))
    state: ServerState = app.state.liftoff
    # Keys configured, and no metadata sent: the health service is open like the probes.
    async with grpc_channel(state, KeyStore(["k-123"])) as channel:
        stub = health_pb2_grpc.HealthStub(channel)

        async def check(service: str = "") -> int:
            return (await stub.Check(health_pb2.HealthCheckRequest(service=service))).status

        before = await check()
        async with app.router.lifespan_context(app):
            while not state.ready:
                assert state.load_error is None
                await asyncio.sleep(0.02)
            loaded = [await check(), await check("inference.GRPCInferenceService")]
            state.begin_drain()
            draining = await check()
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await check("no.such.Service")
    assert before == NOT_SERVING
    assert loaded == [SERVING, SERVING]
    assert draining == NOT_SERVING
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND


async def test_watch_streams_each_change_and_ends_when_the_drain_begins(linear_model: Path) -> None:
    app = create_app(Settings(model_path=linear_model))
    state: ServerState = app.state.liftoff
    async with grpc_channel(state) as channel:
        stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=60)
        seen = [(await stream.read()).status]
        async with app.router.lifespan_context(app):
            seen.append((await stream.read()).status)  # the model has loaded
            assert state.ready
            state.begin_drain()
            seen.append((await stream.read()).status)
            end = await stream.read()
        unknown = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service="x"))
        unknown_status = [reply.status async for reply in unknown]
    assert seen == [NOT_SERVING, SERVING, NOT_SERVING]
    assert end is grpc.aio.EOF  # the stream closed, so it does not hold the drain up
    assert unknown_status == [health_pb2.HealthCheckResponse.SERVICE_UNKNOWN]
