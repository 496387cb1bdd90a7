"""Every HTTP route, declared once: method, path, handler and what OpenAPI says about it.

`service/fastpath.py` registers the whole table with FastAPI (routing, OpenAPI, the docs) and serves the rows
marked `fast`, the ones inference traffic takes, itself: matched by the route objects FastAPI built from
these rows, answered by the same handlers, so nothing about a route is written twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import PlainTextResponse, Response

from service.api import docs, health, kserve_v1, oip, predict, torchserve, triton_ext
from service.api.schemas import (
    ErrorResponse,
    InferRequest,
    InferResponse,
    ModelMetadataResponse,
    ModelReadyResponse,
    PredictRequest,
    PredictResponse,
    ServerMetadataResponse,
    json_body,
)

OIP = "open inference protocol v2"
KSERVE_V1 = "kserve v1"
TRITON = "triton extensions"
TORCHSERVE = "torchserve inference api"


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse} for code in codes}


OIP_ERRORS = _errors(400, 404, 413, 415, 500, 503)
PREDICT_ERRORS = _errors(400, 413, 415, 500, 503)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Callable[..., Awaitable[Response]]
    fast: bool = False
    """Served by the fast path, without FastAPI's per-request machinery (service/fastpath.py)."""
    openapi: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments of FastAPI's `add_api_route`: tags, response model, documented errors."""


def _oip_model(
    suffix: str, handler: Callable[..., Awaitable[Response]], tag: str = OIP, **openapi: Any
) -> list[Route]:
    """A model route and its `/versions/{model_version}` twin, which OpenAPI leaves out as a duplicate."""
    method = "POST" if suffix == "/infer" else "GET"
    fast = suffix == "/infer"
    options = {"tags": [tag], "responses": OIP_ERRORS, **openapi}
    return [
        Route(method, f"/v2/models/{{name}}{suffix}", handler, fast, options),
        Route(
            method,
            f"/v2/models/{{name}}/versions/{{model_version}}{suffix}",
            handler,
            fast,
            {**options, "include_in_schema": False},
        ),
    ]


# Triton routes Liftoff knows and refuses with 501 and a message (one model, loaded at start; no shared
# memory, tracing or log settings), so a client learns why instead of reading a bare 404.
_TRITON_UNIMPLEMENTED: tuple[tuple[str, str, str], ...] = (
    ("POST", "/v2/repository/models/{name}/load", "model loading"),
    ("POST", "/v2/repository/models/{name}/unload", "model unloading"),
    ("GET", "/v2/systemsharedmemory/{rest:path}", "system shared memory"),
    ("POST", "/v2/systemsharedmemory/{rest:path}", "system shared memory"),
    ("GET", "/v2/cudasharedmemory/{rest:path}", "CUDA shared memory"),
    ("POST", "/v2/cudasharedmemory/{rest:path}", "CUDA shared memory"),
    ("GET", "/v2/trace/setting", "trace settings"),
    ("POST", "/v2/trace/setting", "trace settings"),
    ("GET", "/v2/models/{name}/trace/setting", "trace settings"),
    ("POST", "/v2/models/{name}/trace/setting", "trace settings"),
    ("GET", "/v2/logging", "log settings"),
    ("POST", "/v2/logging", "log settings"),
    ("POST", "/v2/models/{name}/generate", "generate extension"),
    ("POST", "/v2/models/{name}/generate_stream", "generate extension"),
)

ROUTES: tuple[Route, ...] = (
    Route("GET", "/docs", docs.page, openapi={"include_in_schema": False}),
    Route("GET", "/", kserve_v1.live, openapi={"tags": ["health", KSERVE_V1]}),
    Route("GET", "/healthz", health.live, openapi={"tags": ["health"]}),
    Route("GET", "/v2/health/live", health.live, openapi={"tags": ["health", OIP]}),
    Route("GET", "/readyz", health.ready, openapi={"tags": ["health"]}),
    Route("GET", "/v2/health/ready", health.ready, openapi={"tags": ["health", OIP]}),
    Route(
        "GET", "/metrics", health.metrics, openapi={"tags": ["health"], "response_class": PlainTextResponse}
    ),
    Route(
        "GET", "/v2", oip.server_metadata, openapi={"tags": [OIP], "response_model": ServerMetadataResponse}
    ),
    # Answered where it is asked, not redirected: Starlette's slash redirect names an absolute http:// URL,
    # wrong behind a proxy that ends TLS.
    Route("GET", "/v2/", oip.server_metadata, openapi={"include_in_schema": False}),
    *_oip_model("", oip.model_metadata, response_model=ModelMetadataResponse),
    *_oip_model("/ready", oip.model_ready, response_model=ModelReadyResponse),
    *_oip_model(
        "/infer", oip.model_infer, response_model=InferResponse, openapi_extra=json_body(InferRequest)
    ),
    Route(
        "POST",
        "/predict",
        predict.predict,
        fast=True,
        openapi={
            "tags": ["predict"],
            "response_model": PredictResponse,
            "responses": PREDICT_ERRORS,
            "openapi_extra": json_body(PredictRequest),
        },
    ),
    *_oip_model("/config", triton_ext.model_config, tag=TRITON),
    *_oip_model("/stats", triton_ext.model_stats, tag=TRITON),
    Route("POST", "/v2/repository/index", triton_ext.repository_index, openapi={"tags": [TRITON]}),
    *(
        Route(method, path, triton_ext.not_implemented(what), openapi={"include_in_schema": False})
        for method, path, what in _TRITON_UNIMPLEMENTED
    ),
    Route("GET", "/v1/models", kserve_v1.models, openapi={"tags": [KSERVE_V1]}),
    Route(
        "GET",
        "/v1/models/{name}",
        kserve_v1.model_status,
        openapi={"tags": [KSERVE_V1], "responses": OIP_ERRORS},
    ),
    Route(
        "POST",
        "/v1/models/{name}:predict",
        kserve_v1.model_predict,
        fast=True,
        openapi={
            "tags": [KSERVE_V1],
            "response_model": PredictResponse,
            "responses": OIP_ERRORS,
            "openapi_extra": json_body(PredictRequest),
        },
    ),
    Route(
        "POST",
        "/v1/models/{name}:explain",
        kserve_v1.model_explain,
        openapi={"tags": [KSERVE_V1], "responses": _errors(404, 501, 503)},
    ),
    Route("GET", "/ping", torchserve.ping, openapi={"tags": ["health", TORCHSERVE]}),
    *(
        Route(
            "POST",
            path,
            torchserve.predictions,
            fast=True,
            openapi={"tags": [TORCHSERVE], "responses": OIP_ERRORS},
        )
        for path in ("/predictions/{name}", "/predictions/{name}/{model_version}")
    ),
)
