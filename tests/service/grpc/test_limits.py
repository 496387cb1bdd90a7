"""The REST limits hold over gRPC: a full queue answers RESOURCE_EXHAUSTED at once, and a message is capped at
the model's body limit (service/body_limit.py), not the fallback the listener opened with."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import numpy as np
import pytest

from service.app import create_app
from service.auth import KeyStore
from service.body_limit import FALLBACK_BYTES
from service.grpc.listener import Listener
from service.grpc.servicer import pb, pb_grpc
from service.settings import Settings
from service.state import ServerState

pytestmark = pytest.mark.anyio


async def _call(stub: object, request: object) -> object:
    return await stub.ModelInfer(request)  # type: ignore[attr-defined]


def _rows(count: int) -> object:
    request = pb.ModelInferRequest(model_name="linear")
    request.inputs.add(name="x", datatype="FP32", shape=[count, 3])
    request.raw_input_contents.append(np.ones((count, 3), dtype="<f4").tobytes())
    return request


async def test_a_full_queue_answers_resource_exhausted_at_once_then_recovers(
    grpc_serve, linear_model: Path, gate, gated_load, until
) -> None:
    settings = Settings(model_path=linear_model, queue_limit=4, max_batch_size=4)
    async with grpc_serve(settings, load=gated_load) as (stub, state):
        running = asyncio.create_task(_call(stub, _rows(1)))  # held in a forward pass by the gate
        await gate.wait_entered()
        queued = [asyncio.create_task(_call(stub, _rows(2))) for _ in range(2)]
        await until(lambda: state.batcher.queued_rows == 4)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ModelInfer(_rows(1))  # answered while the gate is still shut
        gate.open()
        done = await asyncio.gather(running, *queued)
        again = await stub.ModelInfer(_rows(3))  # load dropped: served again
    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "capacity" in (refused.value.details() or "")
    assert [len(answer.raw_output_contents[0]) for answer in done] == [1 * 2 * 4, 2 * 2 * 4, 2 * 2 * 4]
    assert list(again.outputs[0].shape) == [3, 2]
    sample = state.metrics.registry.get_sample_value
    assert sample("liftoff_rejected_total", {"reason": "queue_full"}) == 1.0
    labels = {"route": "grpc:ModelInfer", "method": "gRPC"}
    assert sample("liftoff_requests_total", {**labels, "status": "503"}) == 1.0
    assert sample("liftoff_requests_total", {**labels, "status": "200"}) == 4.0


async def test_messages_are_capped_at_the_models_body_limit_before_readiness(
    linear_model: Path, until: Callable[..., Awaitable[None]]
) -> None:
    app = create_app(Settings(model_path=linear_model, max_batch_size=4))
    state: ServerState = app.state.liftoff
    listener = Listener(state, KeyStore(), "127.0.0.1", 0)
    await listener.start()  # before the model: only the fallback is known
    opened_with = listener.limit
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{listener.port}") as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            assert (await stub.ServerLive(pb.ServerLiveRequest())).live  # open while the model loads
            async with app.router.lifespan_context(app):
                await until(lambda: state.ready, 60)
                limit_when_ready, model_limit = listener.limit, state.max_body_bytes  # resized before ready
                # 6,000 rows of 3 FP32 (72 KB raw) are past the linear model's limit, far below 8 MiB.
                with pytest.raises(grpc.aio.AioRpcError) as too_big:
                    await stub.ModelInfer(_rows(6000), timeout=30)  # the same channel, reconnected
                with pytest.raises(grpc.aio.AioRpcError) as read:  # under the limit: read, then refused
                    await stub.ModelInfer(_rows(5000), timeout=30)
                fits = await stub.ModelInfer(_rows(4), timeout=30)
    finally:
        await listener.stop(grace=None)
    assert opened_with == FALLBACK_BYTES and limit_when_ready == model_limit < 6000 * 3 * 4
    assert too_big.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert read.value.code() is grpc.StatusCode.INVALID_ARGUMENT  # 5,000 rows exceed max batch size 4
    assert list(fits.outputs[0].shape) == [4, 2]
