"""The gRPC methods answer like the REST routes: same model, same checks, same messages, as status codes."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest

from service.grpc.servicer import pb
from service.settings import Settings

pytestmark = pytest.mark.anyio


def _linear_request(rows: list[list[float]], raw: bool) -> object:
    request = pb.ModelInferRequest(model_name="linear", id="r1")
    tensor = request.inputs.add(name="x", datatype="FP32", shape=[len(rows), 3])
    if raw:
        request.raw_input_contents.append(np.asarray(rows, dtype="<f4").tobytes())
    else:
        tensor.contents.fp32_contents.extend(np.asarray(rows, dtype=np.float32).ravel().tolist())
    return request


async def test_health_and_metadata(grpc_serve, linear_model: Path) -> None:
    async with grpc_serve(Settings(model_path=linear_model)) as (stub, _):
        live = await stub.ServerLive(pb.ServerLiveRequest())
        ready = await stub.ServerReady(pb.ServerReadyRequest())
        model_ready = await stub.ModelReady(pb.ModelReadyRequest(name="linear"))
        meta = await stub.ModelMetadata(pb.ModelMetadataRequest(name="linear"))
    assert live.live and ready.ready and model_ready.ready
    assert (meta.name, list(meta.versions)) == ("linear", ["3"])
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [("x", "FP32", [-1, 3])]


@pytest.mark.parametrize("raw", [True, False])
async def test_infer_answers_by_hand_raw_and_typed(grpc_serve, linear_model: Path, raw: bool) -> None:
    # y0 = x0 + 2 x1 + 3 x2 + 0.5, y1 = 4 x0 + 5 x1 + 6 x2 - 1
    async with grpc_serve(Settings(model_path=linear_model)) as (stub, _):
        response = await stub.ModelInfer(_linear_request([[1, 0, 0], [2, 2, 2]], raw))
    assert (response.model_name, response.model_version, response.id) == ("linear", "3", "r1")
    (output,) = response.outputs
    assert (output.name, output.datatype, list(output.shape)) == ("y", "FP32", [2, 2])
    values = np.frombuffer(response.raw_output_contents[0], dtype="<f4")
    assert values.tolist() == [1.5, 3.0, 12.5, 29.0]


async def test_digits_rows_give_labels_that_match_probabilities(grpc_serve) -> None:
    request = pb.ModelInferRequest(model_name="digits")
    request.inputs.add(name="pixels", datatype="FP32", shape=[2, 64])
    request.raw_input_contents.append(np.array([[0.0] * 64, [16.0] * 64], dtype="<f4").tobytes())
    async with grpc_serve(Settings()) as (stub, _):
        response = await stub.ModelInfer(request)
    outputs = {o.name: raw for o, raw in zip(response.outputs, response.raw_output_contents, strict=True)}
    probabilities = np.frombuffer(outputs["probabilities"], dtype="<f4").reshape(2, 10)
    labels = np.frombuffer(outputs["label"], dtype="<i8")
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert labels.tolist() == probabilities.argmax(axis=1).tolist()


async def test_bad_input_is_invalid_argument_with_the_rest_message(grpc_serve, linear_model: Path) -> None:
    request = pb.ModelInferRequest(model_name="linear")
    request.inputs.add(name="x", datatype="FP64", shape=[1, 3]).contents.fp64_contents.extend([1, 2, 3])
    async with grpc_serve(Settings(model_path=linear_model)) as (stub, _):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ModelInfer(request)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "inputs[0].datatype is 'FP64', but 'x' is FP32"


async def test_unknown_model_is_not_found_naming_the_served_one(grpc_serve, linear_model: Path) -> None:
    async with grpc_serve(Settings(model_path=linear_model)) as (stub, _):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ModelMetadata(pb.ModelMetadataRequest(name="other"))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    assert "'other'" in caught.value.details() and "'linear'" in caught.value.details()
