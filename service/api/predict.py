"""`POST /predict`: plain JSON rows in, one prediction per row out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from fastapi import Request
from starlette.responses import Response

from service.api.common import decode_body, infer, json_response, parse_json, ready_model, server_state
from service.api.errors import ApiError
from service.api.schemas import PredictRequest
from service.api.tensors import instances_array, strings
from service.model.metadata import TensorSpec


async def predict(request: Request) -> Response:
    """`{"instances": [row, ...]}` -> `{"predictions": [...]}`, one prediction per row.

    A prediction is the output's row for a one-output model, else an object keyed by output name; for the
    digits model `{"probabilities": [10 floats], "label": int}`.
    """
    state = server_state(request)
    model, batcher = ready_model(state)
    if len(model.metadata.inputs) != 1:
        raise ApiError(
            400,
            f"model {model.metadata.name!r} takes several inputs; use /v2/models/{model.metadata.name}/infer",
        )
    # The body is read before the batch is told a request is coming: a body still arriving (a slow client)
    # must not hold every batch for the full max batch wait (issue 20, item 4).
    raw = await request.body()
    spec, max_rows = model.metadata.inputs[0], state.settings.max_batch_size

    def decode() -> np.ndarray:
        return instances_array(parse_json(raw, PredictRequest).instances, spec, max_rows)

    with batcher.incoming():
        rows = await decode_body(len(raw), decode)
    outputs = await infer(state, batcher, [rows])
    return json_response({"predictions": _per_row(model.metadata.outputs, outputs)})


def _per_row(specs: Sequence[TensorSpec], outputs: list[Any]) -> list[Any]:
    """Rows stay numpy (orjson writes them directly, float32 as float32); BYTES become strings."""
    outputs = [strings(array) if array.dtype.kind == "O" else array for array in outputs]
    if len(outputs) == 1:
        return list(outputs[0])
    names = [spec.name for spec in specs]
    return [dict(zip(names, row, strict=True)) for row in zip(*outputs, strict=True)]
