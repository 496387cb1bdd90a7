"""Triton's extensions clients call: model config, statistics, the repository index; 501 for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings

pytestmark = pytest.mark.anyio

INFER = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [[1, 0, 0], [2, 2, 2]]}]}


async def test_config_describes_inputs_without_the_batch_dimension(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model, max_batch_size=8, max_batch_wait_ms=1.5)) as client:
        config = (await client.get("/v2/models/linear/config")).json()
        versioned = await client.get("/v2/models/linear/versions/3/config")
    assert config["name"] == "linear" and config["max_batch_size"] == 8
    assert config["input"] == [{"name": "x", "data_type": "TYPE_FP32", "dims": [3]}]
    assert config["output"] == [{"name": "y", "data_type": "TYPE_FP32", "dims": [2]}]
    assert config["dynamic_batching"] == {"max_queue_delay_microseconds": 1500}
    assert versioned.json() == config


async def test_stats_count_requests_rows_and_failures(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        for _ in range(3):
            assert (await client.post("/v2/models/linear/infer", json=INFER)).status_code == 200
        assert (await client.post("/v1/models/linear:predict", json={"instances": [[1, 2, 3]]})).is_success
        assert (await client.post("/predict", json={"instances": [[1, 2]]})).status_code == 400
        stats = (await client.get("/v2/models/linear/stats")).json()["model_stats"]
    assert [(s["name"], s["version"]) for s in stats] == [("linear", "3")]
    inference = stats[0]["inference_stats"]
    assert inference["success"]["count"] == 4
    assert inference["fail"]["count"] == 1
    assert inference["success"]["ns"] > 0
    assert stats[0]["inference_count"] == 3 * 2 + 1  # rows through the model
    assert stats[0]["execution_count"] == inference["compute_infer"]["count"] >= 1


async def test_repository_index_lists_the_model_ready(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        everything = await client.post("/v2/repository/index")
        ready = await client.post("/v2/repository/index", json={"ready": True})
    expected = [{"name": "linear", "version": "3", "state": "READY", "reason": ""}]
    assert everything.json() == expected and ready.json() == expected


async def test_stats_and_config_of_an_unknown_model_are_404(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        for path in ("/v2/models/other/config", "/v2/models/other/stats"):
            response = await client.get(path)
            assert response.status_code == 404 and "'other'" in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/repository/models/linear/load"),
        ("POST", "/v2/repository/models/linear/unload"),
        ("GET", "/v2/systemsharedmemory/status"),
        ("POST", "/v2/cudasharedmemory/region/r0/register"),
        ("GET", "/v2/models/linear/trace/setting"),
        ("POST", "/v2/logging"),
        ("POST", "/v2/models/linear/generate"),
    ],
)
async def test_unimplemented_triton_routes_are_501_with_a_message(
    serve, linear_model: Path, method: str, path: str
) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        response = await client.request(method, path, json={})
    assert response.status_code == 501
    assert "Liftoff does not implement Triton's" in response.json()["error"]
