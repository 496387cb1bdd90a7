"""KServe's v1 REST protocol (the "V1 Inference Protocol"), mapped onto the handlers of the routes it mirrors.

https://kserve.github.io/website/latest/modelserving/data_plane/v1_protocol/
`GET /v1/models/{name}` is the model's readiness and `POST /v1/models/{name}:predict` is `POST /predict` with the
model's name in the path: `{"instances": [...]}` (or `{"inputs": [...]}`) in, `{"predictions": [...]}` out, the
same validation and errors. `GET /` is the SDK's liveness check.
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from service.api import oip, predict
from service.api.common import RETRY_AFTER_S, json_response, server_state
from service.api.errors import ApiError

VERBS = (":predict", ":explain")
"""The path's actions after the model name; a GET on one is a wrong method, not an unknown model."""
_ALIVE = b'{"status":"alive"}'


async def live() -> Response:
    """`GET /`: KServe's v1 server liveness, what its Python SDK's `is_server_live` asks."""
    return Response(_ALIVE, media_type="application/json")


async def models(request: Request) -> Response:
    """`GET /v1/models`: the names this server serves (one, once it is loaded)."""
    state = server_state(request)
    return json_response({"models": [state.model.metadata.name] if state.model is not None else []})


async def model_status(request: Request, name: str) -> Response:
    """`{"name": ..., "ready": true}`, or a 503 with the reason while loading or draining, like v2's ready."""
    if name.endswith(VERBS):
        raise ApiError(405, f"{name.rsplit(':', 1)[1]} takes POST", {"Allow": "POST"})
    state = server_state(request)
    oip.check_name(state, name, None)
    if not state.ready:
        raise ApiError(503, state.not_ready_reason(), {"Retry-After": RETRY_AFTER_S})
    return json_response({"name": name, "ready": True})


async def model_predict(request: Request, name: str) -> Response:
    oip.check_name(server_state(request), name, None)
    return await predict.predict_rows(request, kserve_v1=True)


async def model_explain(request: Request, name: str) -> Response:
    oip.check_name(server_state(request), name, None)
    raise ApiError(
        501, "Liftoff does not implement KServe's :explain; :predict and /v2/models/{name}/infer do"
    )
