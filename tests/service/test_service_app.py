"""Liveness is the process, readiness is the model: loading, failure and draining keep them apart."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from service.model.served import ServedModel
from service.model.startup import prepare_model
from service.settings import Settings

pytestmark = pytest.mark.anyio


async def test_a_model_that_fails_warm_up_never_becomes_ready_but_stays_alive(
    serve, failing_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(Settings(model_path=failing_model), wait_ready=False) as client:
        for _ in range(3000):  # wait until the load attempt is over
            if client._transport.app.state.liftoff.load_error:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.02)
        ready = await client.get("/readyz")
        oip_ready = await client.get("/v2/health/ready")
        live = await client.get("/healthz")
        oip_live = await client.get("/v2/health/live")
        infer = await client.post("/predict", json={"instances": [[1, 2, 3]]})
    assert ready.status_code == 503 and oip_ready.status_code == 503
    assert live.status_code == 200 and oip_live.status_code == 200
    assert infer.status_code == 503 and infer.headers["retry-after"]
    # The reason goes to the log; the answers say only that it failed: no path, no torch text.
    assert "this model always fails" in caplog.text
    for response in (ready, oip_ready, infer):
        error = response.json()["error"]
        assert "failed to load" in error and "server log" in error
        assert "always fails" not in error and str(failing_model.parent) not in error


async def test_liveness_answers_while_the_model_is_still_loading(serve, linear_model: Path) -> None:
    release = threading.Event()

    def slow_load(settings: Settings) -> ServedModel:
        assert release.wait(timeout=30)
        return prepare_model(settings)

    async with serve(Settings(model_path=linear_model), load=slow_load, wait_ready=False) as client:
        assert (await client.get("/healthz")).status_code == 200
        loading = await client.get("/readyz")
        assert loading.status_code == 503 and "loading" in loading.json()["error"]
        assert (await client.get("/v2/models/linear/ready")).status_code == 503
        release.set()
        for _ in range(3000):
            if (await client.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.02)
        assert (await client.get("/readyz")).status_code == 200


async def test_draining_fails_readiness_but_still_serves_accepted_work(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        client._transport.app.state.liftoff.begin_drain()  # type: ignore[attr-defined]
        ready = await client.get("/readyz")
        live = await client.get("/healthz")
        infer = await client.post("/predict", json={"instances": [[1, 0, 0]]})
    assert ready.status_code == 503 and "shutting down" in ready.json()["error"]
    assert live.status_code == 200
    assert infer.status_code == 200 and infer.json() == {"predictions": [[1.5, 3.0]]}


async def test_every_response_names_the_replica(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model, replica_id="pod-a")) as client:
        responses = [
            await client.get("/healthz"),
            await client.post("/predict", json={"instances": [[1, 0, 0]]}),
            await client.post("/predict", content=b"{", headers={"content-type": "application/json"}),
            await client.get("/nowhere"),
            await client.post("/predict", content=b"x" * (9 << 20)),
        ]
    assert [r.status_code for r in responses] == [200, 200, 400, 404, 413]
    assert all(r.headers["x-liftoff-replica"] == "pod-a" for r in responses)


async def test_openapi_documents_the_inference_bodies(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        schema = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    assert docs.status_code == 200
    infer = schema["paths"]["/v2/models/{name}/infer"]["post"]
    assert infer["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InferRequest"
    }
    assert "RequestInput" in schema["components"]["schemas"]
    assert "PredictRequest" in schema["components"]["schemas"]


async def test_docs_is_one_self_contained_page_with_no_cdn(serve, linear_model: Path) -> None:
    """FastAPI's /docs loaded Swagger UI from a public CDN (blank behind a firewall)."""
    async with serve(Settings(model_path=linear_model)) as client:
        docs = await client.get("/docs")
        schema = await client.get("/openapi.json")
        redoc = await client.get("/redoc")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "http://" not in docs.text and "https://" not in docs.text  # nothing fetched from elsewhere
    assert 'fetch("/openapi.json")' in docs.text
    assert "default-src 'self'" in docs.headers["content-security-policy"]
    assert schema.status_code == 200 and "/predict" in schema.json()["paths"]
    assert "/docs" not in schema.json()["paths"]
    assert redoc.status_code == 404  # ReDoc, from a CDN too, is off
