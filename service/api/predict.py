"""`POST /predict`: plain JSON rows in, one prediction per row out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response

from service.api import bodies
from service.api.common import (
    check_separators,
    decode_body,
    infer,
    json_response,
    parse_json,
    ready_model,
    server_state,
)
from service.api.errors import ApiError
from service.api.schemas import PredictRequest
from service.api.tensors import instances_array, strings
from service.model.metadata import ModelMetadata, TensorSpec

FORM = "application/x-www-form-urlencoded"
"""What `curl -d` sends when told no content type: a body that is a JSON object is taken as JSON all the same
(a form body never starts with `{`), so the shortest curl line works."""


class KServeV1Request(BaseModel):
    """KServe v1's body: rows as `instances`, or as `inputs`, which its V1 docs list beside it."""

    instances: list[Any] | None = None
    inputs: list[Any] | None = None


def takes_as_json(media: str, raw: bytes) -> bool:
    return bodies.is_json(media) or (media == FORM and raw.lstrip()[:1] == b"{")


async def predict(request: Request) -> Response:
    """`{"instances": [row, ...]}` -> `{"predictions": [...]}`, one prediction per row.

    A prediction is the output's row for a one-output model, else an object keyed by output name; for the
    digits model `{"probabilities": [10 floats], "label": int}`. A model with several inputs takes each
    instance as an object keyed by input name. A model with a BYTES input that declares content types also
    takes a raw body of those types (`image/png`, `text/plain`) or a multipart/form-data upload.
    """
    return await predict_rows(request)


async def predict_rows(request: Request, kserve_v1: bool = False) -> Response:
    """`kserve_v1`: the rows may come as `inputs` instead of `instances` (KServe's v1 `:predict`)."""
    state = server_state(request)
    model, batcher = ready_model(state)
    meta = model.metadata
    header = request.headers.get("content-type")
    media = bodies.media_type(header)
    # The body is read before the batch is told a request is coming: a body still arriving (a slow client)
    # must not hold every batch for the full max batch wait.
    raw = await request.body()
    max_rows = state.settings.max_batch_size

    def decode() -> list[np.ndarray]:
        return _json_rows(_instances(raw, kserve_v1), meta, max_rows)

    as_json = takes_as_json(media, raw)
    if as_json:
        await check_separators(raw, state.max_json_separators)
    with batcher.incoming():
        if as_json:
            inputs = await decode_body(len(raw), decode)
        elif media == bodies.MULTIPART:
            inputs = await decode_body(len(raw), lambda: bodies.multipart_rows(header or "", raw, meta))
        else:
            inputs = bodies.raw_rows(media, raw, meta)
    outputs = await infer(state, batcher, inputs)
    return json_response({"predictions": _per_row(meta.outputs, outputs)})


def _instances(raw: bytes, kserve_v1: bool) -> list[Any]:
    if not kserve_v1:
        return parse_json(raw, PredictRequest).instances
    body = parse_json(raw, KServeV1Request)
    if (body.instances is None) == (body.inputs is None):
        raise ApiError(400, "instances: Field required (or inputs, KServe v1's other name for it; not both)")
    return body.instances if body.instances is not None else body.inputs or []


def _json_rows(instances: list[Any], meta: ModelMetadata, max_batch_size: int) -> list[np.ndarray]:
    """The instances as one array per input: rows as they are for one input, else objects keyed by name."""
    if len(meta.inputs) == 1 and not (
        instances and isinstance(instances[0], dict) and meta.inputs[0].name in instances[0]
    ):
        return [instances_array(instances, meta.inputs[0], max_batch_size)]
    names = [spec.name for spec in meta.inputs]
    columns: list[list[Any]] = [[] for _ in names]
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise ApiError(400, f"instances[{index}] must be an object keyed by input name {names}")
        for column, name in zip(columns, names, strict=True):
            if name not in instance:
                raise ApiError(400, f"instances[{index}] has no {name!r} (model {meta.name!r} takes {names})")
            column.append(instance[name])
    return [
        instances_array(column, spec, max_batch_size)
        for column, spec in zip(columns, meta.inputs, strict=True)
    ]


def _per_row(specs: Sequence[TensorSpec], outputs: list[Any]) -> list[Any]:
    """Rows stay numpy (orjson writes them directly, float32 as float32); BYTES become strings."""
    outputs = [strings(array) if array.dtype.kind == "O" else array for array in outputs]
    if len(outputs) == 1:
        return list(outputs[0])
    names = [spec.name for spec in specs]
    return [dict(zip(names, row, strict=True)) for row in zip(*outputs, strict=True)]
