"""The inference routes without FastAPI's per-request machinery.

For a small model, FastAPI's way through a request costs more CPU than the forward pass: its middleware
stack (error, telemetry and body-limit wrappers), route matching over every route, dependency solving and an
exit stack per request, and every `await` resumes through all of those frames again. Profiled with py-spy
under `make bench` (docs/benchmarks.md), it was most of a small model's request CPU.

`LiftoffApp` is FastAPI, built from the one route table (service/api/routes.py) and the one middleware
list. The rows marked `fast` are matched first, by the route objects FastAPI built from them, and go
straight to their handlers wrapped only in that same middleware list, so validation, errors, metrics and
responses stay exactly as documented.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.errors import ApiError, api_error_response
from service.api.routes import Route


async def fast_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """The matched route's handler, with `ApiError` answered by the handler FastAPI's routes use."""
    request = Request(scope, receive)
    try:
        response = await scope["endpoint"](request, **scope["path_params"])
    except ApiError as exc:
        response = await api_error_response(request, exc)
    await response(scope, receive, send)


def wrap(app: ASGIApp, middleware: Sequence[Middleware]) -> ASGIApp:
    """`app` inside the middleware, the first one outermost, as Starlette stacks `middleware=`."""
    for cls, args, kwargs in reversed(middleware):
        app = cls(app, *args, **kwargs)
    return app


class LiftoffApp(FastAPI):
    """FastAPI serving `routes`; the fast ones are taken by `fast_stack` before FastAPI's own routing."""

    def __init__(self, routes: Sequence[Route], middleware: Sequence[Middleware], **fastapi: Any) -> None:
        super().__init__(middleware=list(middleware), **fastapi)
        self.fast_routes: list[APIRoute] = []
        for route in routes:
            self.add_api_route(route.path, route.handler, methods=[route.method], **route.openapi)
            if route.fast:
                added = self.router.routes[-1]
                assert isinstance(added, APIRoute) and added.path == route.path
                self.fast_routes.append(added)
        # Other methods (the probes' GETs) skip the matching altogether.
        self.fast_methods = frozenset(route.method for route in routes if route.fast)
        self.fast_stack: ASGIApp | None = wrap(fast_endpoint, middleware)
        """None sends every request through FastAPI (the tests compare the two)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_stack is not None and scope["type"] == "http" and scope["method"] in self.fast_methods:
            for route in self.fast_routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)  # route, endpoint and path_params, as Starlette's router sets
                    scope["app"] = self  # what Starlette sets, and what Request.app reads
                    await self.fast_stack(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)
