"""gRPC calls land in the HTTP request series, route `grpc:<Method>`, with the status the REST route would
answer, so /metrics, the dashboard and Triton's statistics count them."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest

from service.api.triton_ext import _request_totals
from service.auth import KeyStore
from service.grpc.servicer import pb, pb_grpc
from service.settings import Settings
from tests.service.grpc.channel import grpc_channel, ready_state

pytestmark = pytest.mark.anyio
KEY = [("authorization", "Bearer k-1")]


async def test_grpc_calls_are_counted_by_method_and_rest_status(linear_model: Path) -> None:
    async with (
        ready_state(Settings(model_path=linear_model)) as state,
        grpc_channel(state, KeyStore(["k-1"])) as channel,
    ):
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        good = pb.ModelInferRequest(model_name="linear")
        good.inputs.add(name="x", datatype="FP32", shape=[2, 3])
        good.raw_input_contents.append(np.ones((2, 3), dtype="<f4").tobytes())
        bad = pb.ModelInferRequest(model_name="linear")
        bad.inputs.add(name="x", datatype="FP32", shape=[1, 4])
        bad.raw_input_contents.append(np.ones((1, 4), dtype="<f4").tobytes())
        await stub.ModelInfer(good, metadata=KEY)
        await stub.ModelInfer(good, metadata=KEY)
        for request, metadata in ((bad, KEY), (good, [])):
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.ModelInfer(request, metadata=metadata)
        await stub.ServerReady(pb.ServerReadyRequest(), metadata=KEY)
        for made_up in ("RepositoryIndex", "NoSuchMethod"):  # refused UNIMPLEMENTED
            with pytest.raises(grpc.aio.AioRpcError):
                await channel.unary_unary(f"/inference.GRPCInferenceService/{made_up}")(b"", metadata=KEY)
    sample = state.metrics.registry.get_sample_value

    def count(route: str, status: str) -> float | None:
        return sample("liftoff_requests_total", {"route": route, "method": "gRPC", "status": status})

    assert count("grpc:ModelInfer", "200") == 2.0
    assert count("grpc:ModelInfer", "400") == 1.0
    assert count("grpc:ModelInfer", "401") == 1.0  # refused by the key check: counted like the REST 401
    assert count("grpc:ServerReady", "200") == 1.0
    assert count("grpc:unmatched", "501") == 2.0  # names a client makes up do not become labels
    assert sample("liftoff_request_duration_seconds_count", {"route": "grpc:ModelInfer"}) == 4.0
    assert sample("liftoff_requests_in_flight") == 0.0
    totals = _request_totals(state.metrics.registry)  # Triton's /stats reads the same series
    assert (totals["success"], totals["fail"]) == (2.0, 2.0)
