"""TorchServe's inference API on Liftoff's server, so TorchServe's clients keep working unchanged.

`POST /predictions/{name}` (and `/{version}`) takes any body, raw or a multipart form, as TorchServe does, and
answers with what the handler returned and its content type. It serves a model with one BYTES input (what
`python -m service import-torchserve` writes); `GET /ping` is TorchServe's health check.
"""

from __future__ import annotations

import numpy as np
from fastapi import Request
from starlette.responses import Response

from service.api import bodies, oip
from service.api.common import infer, json_response, ready_model, server_state
from service.api.errors import ApiError
from service.torchserve.handler import RawRequest

# Headers the handler never sees: the key is Liftoff's, not the model's.
_HIDDEN_HEADERS = frozenset({"authorization"})


async def predictions(request: Request, name: str, model_version: str | None = None) -> Response:
    state = server_state(request)
    oip.check_name(state, name, None)
    model, batcher = ready_model(state)
    meta = model.metadata
    if model_version is not None and model_version != meta.version:
        # TorchServe's versions are free strings ("2.0"), and an unknown one is a 404 there.
        raise ApiError(404, f"model {name!r} has no version {model_version!r}; it serves {meta.version!r}")
    if len(meta.inputs) != 1 or meta.inputs[0].datatype != "BYTES":
        raise ApiError(
            400,
            f"model {meta.name!r} takes tensors, not raw bodies: /predictions serves models imported with "
            f"python -m service import-torchserve; send this one to /v2/models/{meta.name}/infer",
        )
    header = request.headers.get("content-type") or "application/octet-stream"
    media = bodies.media_type(header)
    raw = await request.body()
    parts = bodies.form_parts(header, raw) if media == bodies.MULTIPART else None
    seen = {key: value for key, value in request.headers.items() if key not in _HIDDEN_HEADERS}
    row = np.empty(1, dtype=object)
    row[0] = RawRequest(b"" if parts is not None else raw, header, seen, parts)
    outputs = await infer(state, batcher, [row])
    body = outputs[0][0]
    content_type = outputs[1][0].decode() if len(outputs) > 1 else "application/octet-stream"
    return Response(bytes(body), media_type=content_type)


async def ping(request: Request) -> Response:
    """TorchServe's health answer: Healthy once the model serves, else 503 with the reason."""
    state = server_state(request)
    if state.ready:
        return json_response({"status": "Healthy"})
    return json_response({"status": "Unhealthy", "reason": state.not_ready_reason()}, status=503)
