"""service/cold_start.py: a request whose cold start outlived its hold is told to come back, never left hanging."""

from __future__ import annotations

import httpx
import pytest

from service.cold_start import app

pytestmark = pytest.mark.anyio


@pytest.fixture
def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cold-start")


async def test_every_request_gets_503_with_retry_after_and_a_message(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFTOFF_RETRY_AFTER_S", "7")
    async with client:
        for method, path in (("POST", "/v2/models/digits/infer"), ("POST", "/predict"), ("GET", "/")):
            response = await client.request(method, path, json={"instances": [[0]]})
            assert response.status_code == 503
            assert response.headers["retry-after"] == "7"
            assert "retry in 7 s" in response.json()["error"]


async def test_the_probe_path_answers_200(client: httpx.AsyncClient) -> None:
    async with client:
        response = await client.get("/healthz")
    assert response.status_code == 200
