"""The inference routes without FastAPI's per-request machinery.

For a small model, FastAPI's way through a request costs more CPU than the forward pass: its middleware
stack (error, telemetry and body-limit wrappers), route matching over every route, dependency solving and an
exit stack per request, and every `await` resumes through all of those frames again. Profiled with py-spy
under `make bench` (docs/benchmarks.md): about two thirds of a digits request's CPU time.

`LiftoffApp` is FastAPI for everything but the two routes that carry inference traffic: a POST to
`/v2/models/{name}/infer` (also with `/versions/{v}`) or `/predict` goes straight to the same handler
functions the FastAPI routes use, wrapped only in the server's own lean ASGI middleware (metrics, replica
header, body limit), so validation, errors, metrics and responses stay exactly as documented.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api import oip, predict
from service.api.errors import ApiError, error_response

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class RouteLabel:
    """What `EdgeMiddleware` reads from `scope["route"]` for the metrics' route label."""

    path: str


INFER = RouteLabel("/v2/models/{name}/infer")
INFER_VERSION = RouteLabel("/v2/models/{name}/versions/{model_version}/infer")
PREDICT = RouteLabel("/predict")


def match(path: str) -> tuple[RouteLabel, Handler] | None:
    """The route and handler for an inference path; None for everything FastAPI routes."""
    if path == PREDICT.path:
        return PREDICT, predict.predict
    parts = path.split("/")
    if len(parts) < 5 or parts[1] != "v2" or parts[2] != "models" or not parts[3] or parts[-1] != "infer":
        return None
    name = parts[3]
    if len(parts) == 5:
        return INFER, lambda request: oip.model_infer(request, name)
    if len(parts) == 7 and parts[4] == "versions" and parts[5]:
        version = parts[5]
        return INFER_VERSION, lambda request: oip.model_infer(request, name, version)
    return None


async def fast_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """The handler the path matched, with `ApiError` answered as the FastAPI exception handler would."""
    route, handler = scope["liftoff.handler"]
    scope["route"] = route
    try:
        response = await handler(Request(scope, receive))
    except ApiError as exc:
        response = error_response(exc.status, exc.message, exc.headers)
    await response(scope, receive, send)


class LiftoffApp(FastAPI):
    """FastAPI, with the inference routes taken by `fast_stack` (set by create_app) before FastAPI's own."""

    fast_stack: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_stack is not None and scope["type"] == "http" and scope["method"] == "POST":
            found = match(scope["path"])
            if found is not None:
                scope["app"] = self  # what Starlette sets, and what Request.app reads
                scope["liftoff.handler"] = found
                await self.fast_stack(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def build_fast_stack(wrap: Callable[[ASGIApp], ASGIApp]) -> ASGIApp:
    return wrap(fast_endpoint)


__all__: list[Any] = ["LiftoffApp", "build_fast_stack", "match"]
