"""`inference.GRPCInferenceService`: the Open Inference Protocol's gRPC methods on the REST routes' code.

A ModelInfer request becomes the same `InferRequest` the REST route parses (typed contents as `data`, raw
contents as binary tensors of the binary extension, whose layout is the same), so validation, the batcher
and every error message are shared. `ApiError` statuses become gRPC codes; a 503 while the server is ready is
the batcher shedding load, RESOURCE_EXHAUSTED, else UNAVAILABLE (loading or draining).
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

import grpc
import numpy as np
from google.protobuf import json_format

from service.api import oip, triton_ext
from service.api.binary import bytes_wire
from service.api.common import decode_body, infer, ready_model
from service.api.errors import ApiError
from service.api.schemas import InferRequest
from service.grpc import stubs
from service.state import ServerState

pb, pb_grpc = stubs.load()

CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.INVALID_ARGUMENT,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    501: grpc.StatusCode.UNIMPLEMENTED,
}

# Which InferTensorContents member carries a datatype's typed values (the .proto's comment).
CONTENTS = {
    "BOOL": "bool_contents",
    "UINT8": "uint_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def status_code(state: ServerState, exc: ApiError) -> grpc.StatusCode:
    if exc.status == 503:
        return grpc.StatusCode.RESOURCE_EXHAUSTED if state.ready else grpc.StatusCode.UNAVAILABLE
    return CODES.get(exc.status, grpc.StatusCode.INTERNAL)


def _as_body(request: Any, model: str) -> tuple[InferRequest, bytes]:
    """The gRPC request as the REST route's body and binary part."""
    raw = list(request.raw_input_contents)
    for tensor in request.inputs if raw else ():
        if tensor.HasField("contents"):
            # Triton's wording, which its clients' examples look for.
            raise ApiError(
                400,
                f"contents field must not be specified when using raw_input_contents for {tensor.name!r} "
                f"for model {model!r}",
            )
    if raw and len(raw) != len(request.inputs):
        raise ApiError(400, f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs")
    inputs = []
    for index, tensor in enumerate(request.inputs):
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": list(tensor.shape),
        }
        if raw:
            entry["parameters"] = {"binary_data_size": len(raw[index])}
        else:
            field = CONTENTS.get(tensor.datatype)
            contents = getattr(tensor.contents, field) if field else []
            if len(contents) > math.prod(tensor.shape):  # refused before millions are copied and decoded
                raise ApiError(
                    400,
                    f"inputs[{index}].contents has {len(contents)} values, "
                    f"but shape {list(tensor.shape)} holds {math.prod(tensor.shape)}",
                )
            values = list(contents)
            entry["data"] = (
                [v.decode("utf-8", "replace") for v in values] if field == "bytes_contents" else values
            )
        inputs.append(entry)
    outputs = [{"name": output.name} for output in request.outputs]
    body = InferRequest.model_validate({"id": request.id or None, "inputs": inputs, "outputs": outputs})
    return body, b"".join(raw)


def _raw(array: np.ndarray) -> bytes:
    if array.dtype.kind == "O":
        return bytes_wire(array)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):  # type: ignore[name-defined]
    def __init__(self, state: ServerState) -> None:
        self.state = state

    async def _abort(self, context: grpc.aio.ServicerContext, exc: ApiError) -> NoReturn:
        await context.abort(status_code(self.state, exc), exc.message)
        raise AssertionError("abort returned")  # abort always raises

    async def ServerLive(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return pb.ServerReadyResponse(ready=self.state.ready)

    async def ServerMetadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return pb.ServerMetadataResponse(
            name="liftoff", version=oip.SERVER_VERSION, extensions=list(oip.EXTENSIONS)
        )

    async def ModelReady(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        """`ready: false` while the model loads or the server drains, as ServerReady answers; a name the
        loaded model does not have is NOT_FOUND."""
        if self.state.model is None:
            return pb.ModelReadyResponse(ready=False)
        try:
            oip.check_name(self.state, request.name, request.version or None)
        except ApiError as exc:
            await self._abort(context, exc)
        return pb.ModelReadyResponse(ready=self.state.ready)

    async def ModelConfig(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            meta = oip.check_name(self.state, request.name, request.version or None).metadata
        except ApiError as exc:
            await self._abort(context, exc)
        document = triton_ext.config_document(self.state, meta)
        # Triton numbers versions; a model.json version that is not a number has no place in the policy.
        versions = [v for v in document["version_policy"]["specific"]["versions"] if v.isdigit()]
        document["version_policy"]["specific"]["versions"] = versions
        config = json_format.ParseDict(document, pb.ModelConfig())
        return pb.ModelConfigResponse(config=config)

    async def ModelStatistics(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            meta = oip.check_name(self.state, request.name, request.version or None).metadata
        except ApiError as exc:
            await self._abort(context, exc)
        return json_format.ParseDict(
            triton_ext.stats_document(self.state, meta), pb.ModelStatisticsResponse()
        )

    async def ModelMetadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            meta = oip.check_name(self.state, request.name, request.version or None).metadata
        except ApiError as exc:
            await self._abort(context, exc)

        def tensors(specs: Any) -> list[Any]:
            return [
                pb.ModelMetadataResponse.TensorMetadata(name=s.name, datatype=s.datatype, shape=s.shape)
                for s in specs
            ]

        return pb.ModelMetadataResponse(
            name=meta.name,
            versions=[meta.version],
            platform=meta.platform,
            inputs=tensors(meta.inputs),
            outputs=tensors(meta.outputs),
        )

    async def ModelInfer(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        state = self.state
        try:
            meta = oip.check_name(state, request.model_name, request.model_version or None).metadata
            _, batcher = ready_model(state)
            size = request.ByteSize()

            def decode() -> tuple[list[Any], set[str]]:
                body, binary_part = _as_body(request, meta.name)
                inputs = oip.decode_inputs(body, binary_part, meta, state.settings.max_batch_size)
                return inputs, oip.wanted_outputs(body, meta)

            with batcher.incoming():
                inputs, wanted = await decode_body(size, decode)
            outputs = await infer(state, batcher, inputs)
        except ApiError as exc:
            await self._abort(context, exc)
        response = pb.ModelInferResponse(model_name=meta.name, model_version=meta.version, id=request.id)
        for spec, array in zip(meta.outputs, outputs, strict=True):
            if spec.name in wanted:
                response.outputs.add(name=spec.name, datatype=spec.datatype, shape=array.shape)
                response.raw_output_contents.append(_raw(array))
        return response
