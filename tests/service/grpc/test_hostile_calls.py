"""Calls that try to hold or break the gRPC listener: no key and no message, health Watch streams by the
hundred, a message that never arrives, bytes that are not protobuf, two `authorization` entries. Each is
refused without holding a call slot, and every refusal is counted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.auth import KeyStore
from service.grpc.guard import DUPLICATE, UNAUTHENTICATED, WATCH_LIMIT
from service.grpc.listener import build_server
from service.grpc.servicer import pb, pb_grpc
from service.settings import Settings
from tests.service.grpc.channel import grpc_channel, ready_state

pytestmark = pytest.mark.anyio
INFER = "/inference.GRPCInferenceService/ModelInfer"
KEY = [("authorization", "Bearer k-1")]
HELD = 48
"""Calls held open without a key: more than the call slots (queue limit 32) these tests give the server."""


def _good() -> Any:
    request = pb.ModelInferRequest(model_name="linear")
    request.inputs.add(name="x", datatype="FP32", shape=[1, 3])
    request.raw_input_contents.append(np.ones((1, 3), dtype="<f4").tobytes())
    return request


async def _never() -> AsyncIterator[Any]:
    await asyncio.Event().wait()
    yield b""  # pragma: no cover


def _without_message(channel: grpc.aio.Channel, metadata: Any = ()) -> Any:
    """A ModelInfer call whose request message is never sent (a request stream that never yields)."""
    call = channel.stream_unary(INFER, request_serializer=lambda m: m, response_deserializer=lambda m: m)
    return call(_never(), metadata=metadata)


@contextlib.asynccontextmanager
async def _channels(state: Any, count: int) -> AsyncIterator[list[grpc.aio.Channel]]:
    """`count` clients, each on its own connection, to one server with key `k-1`."""
    server, port = build_server(state, KeyStore(["k-1"]), "127.0.0.1:0")
    await server.start()
    own = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=own) for _ in range(count)]
    try:
        yield channels
    finally:
        for channel in channels:
            await channel.close()
        await server.stop(grace=None)


def _count(state: Any, route: str, status: str) -> float:
    value = state.metrics.registry.get_sample_value(
        "liftoff_requests_total", {"route": route, "method": "gRPC", "status": status}
    )
    return value or 0.0


async def test_calls_without_a_key_or_message_and_watch_streams_hold_no_slot(linear_model: Path) -> None:
    settings = Settings(model_path=linear_model, queue_limit=32, max_batch_size=32)
    async with ready_state(settings) as state, _channels(state, 3) as (attacker, watcher, keyed):
        held = [_without_message(attacker) for _ in range(HELD)]
        watch = health_pb2_grpc.HealthStub(watcher).Watch
        watches = [watch(health_pb2.HealthCheckRequest()) for _ in range(WATCH_LIMIT + 20)]
        refused = 0
        for call in watches:  # the first answer of each: SERVING, or the refusal past the limit
            try:
                await asyncio.wait_for(call.read(), 10)
            except grpc.aio.AioRpcError as exc:
                assert exc.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
                refused += 1
        assert refused == 20
        stub = pb_grpc.GRPCInferenceServiceStub(keyed)
        answers = await asyncio.gather(
            *(stub.ModelInfer(_good(), metadata=KEY, timeout=10) for _ in range(20))
        )
        assert len(answers) == 20
        for call in held:  # refused on the metadata alone, without waiting for the message
            with pytest.raises(grpc.aio.AioRpcError) as refusal:
                await asyncio.wait_for(call, 5)
            assert refusal.value.code() is grpc.StatusCode.UNAUTHENTICATED
            assert refusal.value.details() == UNAUTHENTICATED
        for call in watches:
            call.cancel()
    assert _count(state, "grpc:ModelInfer", "401") == HELD
    assert _count(state, "grpc:ModelInfer", "200") == 20
    assert _count(state, "grpc:Watch", "503") == 20


async def test_a_keyed_call_whose_message_never_arrives_ends_at_the_body_timeout(linear_model: Path) -> None:
    settings = Settings(model_path=linear_model, body_timeout_s=0.5)
    async with ready_state(settings) as state, grpc_channel(state, KeyStore(["k-1"])) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await asyncio.wait_for(_without_message(channel, KEY), 10)
    assert ended.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "LIFTOFF_BODY_TIMEOUT_S" in (ended.value.details() or "")
    assert _count(state, "grpc:ModelInfer", "408") == 1


async def test_bytes_that_are_not_protobuf_are_invalid_argument_without_library_text(
    linear_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with ready_state(Settings(model_path=linear_model)) as state, grpc_channel(state) as channel:
        raw = channel.unary_unary(INFER)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await raw(b"\xff\xff\xff\xff\x0f garbage", timeout=10)
    details = refused.value.details() or ""
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid ModelInfer protobuf message" in details
    for internal in ("DecodeError", "google.", "Error parsing", "Traceback"):
        assert internal not in details and internal not in caplog.text
    assert _count(state, "grpc:ModelInfer", "400") == 1


async def test_two_authorization_entries_are_refused_even_when_one_holds_a_key(linear_model: Path) -> None:
    async with (
        ready_state(Settings(model_path=linear_model)) as state,
        grpc_channel(state, KeyStore(["k-1"])) as channel,
    ):
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        assert (await stub.ModelInfer(_good(), metadata=KEY, timeout=10)).outputs
        for pair in (["k-1", "nope"], ["nope", "k-1"], ["k-1", "k-1"]):
            metadata = [("authorization", f"Bearer {key}") for key in pair]
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ModelInfer(_good(), metadata=metadata, timeout=10)
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
            assert refused.value.details() == DUPLICATE
    assert _count(state, "grpc:ModelInfer", "401") == 3


async def test_bytes_contents_past_the_declared_shape_are_refused_on_the_count(linear_model: Path) -> None:
    async with ready_state(Settings(model_path=linear_model)) as state, grpc_channel(state) as channel:
        request = pb.ModelInferRequest(model_name="linear")
        tensor = request.inputs.add(name="x", datatype="BYTES", shape=[1, 3])
        tensor.contents.bytes_contents.extend([b""] * 20_000)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request, timeout=10)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "has 20000 values, but shape [1, 3] holds 3" in (refused.value.details() or "")
