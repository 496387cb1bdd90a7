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

from service.api import docs, health, oip, predict
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


def _oip_model(suffix: str, handler: Callable[..., Awaitable[Response]], **openapi: Any) -> list[Route]:
    """A model route and its `/versions/{model_version}` twin, which OpenAPI leaves out as a duplicate."""
    method = "POST" if suffix == "/infer" else "GET"
    fast = suffix == "/infer"
    options = {"tags": [OIP], "responses": OIP_ERRORS, **openapi}
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


ROUTES: tuple[Route, ...] = (
    Route("GET", "/docs", docs.page, openapi={"include_in_schema": False}),
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
)
