"""The inference routes' fast path answers exactly as FastAPI's routes do, and only takes those routes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.routing import Match

from service.api.routes import ROUTES
from service.app import create_app
from service.fastpath import LiftoffApp
from service.settings import Settings
from service.state import ServerState

GOOD = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}
REQUESTS = [
    ("/v2/models/linear/infer", GOOD),
    ("/v2/models/linear/versions/3/infer", GOOD),
    ("/v2/models/linear/versions/9/infer", GOOD),
    ("/v2/models/nope/infer", GOOD),
    (
        "/v2/models/linear/infer",
        {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]},
    ),
    ("/v2/models/linear/infer", b"{not json"),
    ("/predict", {"instances": [[1, 2, 3], [0, 0, 1]]}),
    ("/predict", {"instances": []}),
]


def _fast_route(app: LiftoffApp, path: str, method: str = "POST") -> str | None:
    """The template of the fast route that takes this request, None when FastAPI's routing does."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "path_params": {}}
    for route in app.fast_routes:
        if route.matches(scope)[0] is Match.FULL:
            return route.path
    return None


def test_only_the_inference_routes_of_the_table_take_the_fast_path() -> None:
    app = create_app(Settings())
    assert isinstance(app, LiftoffApp)
    assert (
        {route.path for route in app.fast_routes}
        == {r.path for r in ROUTES if r.fast}
        == {
            "/predict",
            "/v2/models/{name}/infer",
            "/v2/models/{name}/versions/{model_version}/infer",
            "/v1/models/{name}:predict",
            "/predictions/{name}",
            "/predictions/{name}/{model_version}",
        }
    )
    assert _fast_route(app, "/predict") == "/predict"
    assert _fast_route(app, "/predictions/m/2.0") == "/predictions/{name}/{model_version}"
    assert _fast_route(app, "/v2/models/m/infer") == "/v2/models/{name}/infer"
    assert (
        _fast_route(app, "/v2/models/m/versions/2/infer")
        == "/v2/models/{name}/versions/{model_version}/infer"
    )
    assert _fast_route(app, "/predict", method="GET") is None
    for path in (
        "/v2/models//infer",
        "/v2/models/m",
        "/v2/models/m/ready",
        "/v2/models/m/versions//infer",
        "/v2/models/m/x/y/infer",
        "/predict/",
        "/v2/health/ready",
        "/metrics",
        "/v2/models/m/inferx",
    ):
        assert _fast_route(app, path) is None, path


def test_every_route_of_the_table_is_a_fastapi_route() -> None:
    app = create_app(Settings())
    registered = {(method, route.path) for route in app.routes for method in getattr(route, "methods", ())}
    assert {(route.method, route.path) for route in ROUTES} <= registered


@pytest.mark.anyio
async def test_fast_path_answers_like_fastapi_routes(linear_model: Path) -> None:
    """Every request gets the same status, body and headers with the fast path on and off."""
    app = create_app(Settings(model_path=linear_model, replica_id="r1"))
    assert isinstance(app, LiftoffApp) and app.fast_stack is not None
    state: ServerState = app.state.liftoff
    fast_stack = app.fast_stack
    async with app.router.lifespan_context(app):
        while not state.ready:
            assert state.load_error is None
            await _sleep()
        answers = {}
        for fast in (True, False):
            app.fast_stack = fast_stack if fast else None
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                for path, body in REQUESTS:
                    if isinstance(body, bytes):
                        response = await client.post(path, content=body)
                    else:
                        response = await client.post(path, json=body)
                    answers[(fast, path, str(body))] = (
                        response.status_code,
                        response.content,
                        response.headers.get("content-type"),
                        response.headers.get("x-liftoff-replica"),
                    )
    for path, body in REQUESTS:
        assert answers[(True, path, str(body))] == answers[(False, path, str(body))], path
    assert {status for status, *_ in answers.values()} >= {200, 400, 404}


@pytest.mark.anyio
async def test_fast_path_requests_are_counted_under_their_route(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        assert (await client.post("/v2/models/linear/infer", json=GOOD)).status_code == 200
        assert (await client.post("/v2/models/linear/versions/3/infer", json=GOOD)).status_code == 200
        assert (await client.post("/predict", json={"instances": [[1, 2]]})).status_code == 400
        text = (await client.get("/metrics")).text
    assert 'route="/v2/models/{name}/infer",status="200"' in text
    assert 'route="/v2/models/{name}/versions/{model_version}/infer",status="200"' in text
    assert 'route="/predict",status="400"' in text


@pytest.mark.anyio
async def test_other_methods_on_inference_paths_still_reach_fastapi(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        assert (await client.get("/v2/models/linear/infer")).status_code == 405
        assert (await client.get("/predict")).status_code == 405


async def _sleep() -> None:
    import asyncio

    await asyncio.sleep(0.02)
