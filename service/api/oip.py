"""Open Inference Protocol v2 over REST/JSON, the dialect KServe and Triton speak.

https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/
"""

from __future__ import annotations

import math
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from service.api import binary, bodies
from service.api.common import (
    RETRY_AFTER_S,
    check_separators,
    decode_body,
    infer,
    json_response,
    parse_json,
    ready_model,
    server_state,
)
from service.api.errors import ApiError
from service.api.schemas import (
    InferRequest,
)
from service.api.tensors import bad, check_count, check_finite, check_shape, shaped, to_array
from service.model.datatypes import NUMPY_DTYPES
from service.model.metadata import ModelMetadata, TensorSpec
from service.model.served import ServedModel
from service.state import ServerState

try:
    SERVER_VERSION = version("liftoff")
except PackageNotFoundError:  # running from a source tree that was never installed
    SERVER_VERSION = "0"


EXTENSIONS = (binary.EXTENSION, "model_configuration", "statistics")
"""The protocol extensions served, as REST's and gRPC's server metadata list them."""


async def server_metadata() -> Response:
    return json_response({"name": "liftoff", "version": SERVER_VERSION, "extensions": list(EXTENSIONS)})


def check_name(state: ServerState, name: str, model_version: str | None) -> ServedModel:
    model, _ = ready_model(state)
    meta = model.metadata
    if name != meta.name:
        # Triton's wording, which its clients' examples look for.
        raise ApiError(
            404, f"Request for unknown model: {name!r} is not found; this server serves {meta.name!r}"
        )
    if model_version is not None and model_version != meta.version:
        # Triton's wording for a version that is not a number, and for one it does not have.
        if not model_version.isdigit():
            raise ApiError(
                400,
                f"failed to get model version from specified version string {model_version!r}: "
                f"model {name!r} serves version {meta.version!r}",
            )
        raise ApiError(
            404,
            f"Request for unknown model: {name!r} version {model_version!r} is not found; it serves "
            f"version {meta.version!r}",
        )
    return model


def _tensor(spec: TensorSpec) -> dict[str, Any]:
    return {"name": spec.name, "datatype": spec.datatype, "shape": list(spec.shape)}


async def model_metadata(request: Request, name: str, model_version: str | None = None) -> Response:
    meta = check_name(server_state(request), name, model_version).metadata
    return json_response(
        {
            "name": meta.name,
            "versions": [meta.version],
            "platform": meta.platform,
            "inputs": [_tensor(spec) for spec in meta.inputs],
            "outputs": [_tensor(spec) for spec in meta.outputs],
        }
    )


async def model_ready(request: Request, name: str, model_version: str | None = None) -> Response:
    state = server_state(request)
    check_name(state, name, model_version)
    if not state.ready:
        raise ApiError(503, state.not_ready_reason(), {"Retry-After": RETRY_AFTER_S})
    return json_response({"name": name, "ready": True})


async def model_infer(request: Request, name: str, model_version: str | None = None) -> Response:
    state = server_state(request)
    model = check_name(state, name, model_version)
    _, batcher = ready_model(state)
    meta = model.metadata
    media = bodies.media_type(request.headers.get("content-type"))
    if media.startswith(("image/", "text/", "audio/", "video/")) or media == bodies.MULTIPART:
        takes = ", ".join(bodies.accepted(meta)[1:]) or "none: it takes numeric tensors"
        raise ApiError(
            415,
            f"this route takes Open Inference Protocol JSON (application/json, with binary tensors after it "
            f"as application/octet-stream), not {media}; raw files and text go to /predict "
            f"(model {meta.name!r} takes there: {takes})",
        )
    raw = await request.body()  # before incoming(): see predict.py
    header_length = request.headers.get(binary.HEADER)

    json_part, binary_part = binary.split_body(raw, header_length)
    await check_separators(json_part, state.max_json_separators)

    def decode() -> tuple[InferRequest, list[Any], set[str]]:
        body = parse_json(json_part, InferRequest)
        inputs = decode_inputs(body, binary_part, meta, state.settings.max_batch_size)
        return body, inputs, wanted_outputs(body, meta)

    with batcher.incoming():
        body, inputs, wanted = await decode_body(len(raw), decode)
    outputs = await infer(state, batcher, inputs)
    response: dict[str, Any] = {"model_name": meta.name, "model_version": meta.version}
    if body.id is not None:
        response["id"] = body.id
    tensors = [
        {"name": spec.name, "datatype": spec.datatype, "shape": list(array.shape), "data": array.ravel()}
        for spec, array in zip(meta.outputs, outputs, strict=True)
        if spec.name in wanted
    ]
    tensors, tail = binary.encode_outputs(tensors, binary.wants_binary(body))
    response["outputs"] = tensors
    if not tail:
        return json_response(response)
    header = orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(
        header + tail,
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(header))},
    )


def decode_inputs(
    body: InferRequest, binary_part: bytes, meta: ModelMetadata, max_batch_size: int
) -> list[Any]:
    chunks = binary.slice_binary(binary_part, binary.binary_sizes(body))
    by_name = {}
    for index, tensor in enumerate(body.inputs):
        where = f"inputs[{index}]"
        if tensor.name in by_name:
            raise bad(f"{where}.name {tensor.name!r} appears twice")
        by_name[tensor.name] = (where, tensor, chunks[index])
    expected = [spec.name for spec in meta.inputs]
    unknown = sorted(set(by_name) - set(expected))
    if unknown:
        raise bad(f"inputs {unknown} are not inputs of model {meta.name!r} (it takes {expected})")
    missing = [name for name in expected if name not in by_name]
    if missing:
        raise bad(f"inputs {missing} are missing (model {meta.name!r} takes {expected})")
    arrays = []
    for spec in meta.inputs:
        where, tensor, chunk = by_name[spec.name]
        if tensor.datatype != spec.datatype:
            raise bad(f"{where}.datatype is {tensor.datatype!r}, but {spec.name!r} is {spec.datatype}")
        check_shape(tensor.shape, spec, where, max_batch_size)
        if chunk is None:
            check_count(tensor.data, tensor.shape, where)
            array = to_array(tensor.data, spec, f"{where}.data")
        else:
            raw = binary.from_bytes(
                chunk, NUMPY_DTYPES[spec.datatype], f"{where}'s binary data", math.prod(tensor.shape)
            )
            array = check_finite(raw, spec, f"{where}'s binary data")
        arrays.append(shaped(array, tensor.shape, spec, where, max_batch_size))
    rows = {array.shape[0] for array in arrays}
    if len(rows) > 1:
        raise bad(f"inputs have different numbers of rows {sorted(rows)}; every input needs one row per item")
    return arrays


def wanted_outputs(body: InferRequest, meta: ModelMetadata) -> set[str]:
    if not body.outputs:
        return {spec.name for spec in meta.outputs}
    wanted = set()
    for index, requested in enumerate(body.outputs):
        if meta.output(requested.name) is None:
            raise bad(
                f"outputs[{index}].name {requested.name!r} is not an output of model {meta.name!r} "
                f"(it has {[spec.name for spec in meta.outputs]})"
            )
        wanted.add(requested.name)
    return wanted
