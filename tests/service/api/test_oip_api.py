"""Open Inference Protocol v2: metadata, readiness and inference, as KServe and Triton clients expect."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings

pytestmark = pytest.mark.anyio


async def test_server_metadata_names_the_server(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        body = (await client.get("/v2")).json()
    assert body["name"] == "liftoff"
    assert isinstance(body["version"], str) and isinstance(body["extensions"], list)


async def test_model_metadata_comes_from_the_json_beside_the_model(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        response = await client.get("/v2/models/linear")
        versioned = await client.get("/v2/models/linear/versions/3")
    assert response.status_code == 200
    assert response.json() == {
        "name": "linear",
        "versions": ["3"],
        "platform": "pytorch_torchscript",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
    }
    assert versioned.json() == response.json()


async def test_health_and_model_ready_answer_200_when_ready(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/linear/ready", "/healthz", "/readyz"):
            assert (await client.get(path)).status_code == 200, path


async def test_infer_echoes_the_id_and_returns_flat_row_major_data(serve, linear_model: Path) -> None:
    body = {
        "id": "req-7",
        "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 0, 0, 0, 1, 2]}],
    }
    async with serve(Settings(model_path=linear_model)) as client:
        response = await client.post("/v2/models/linear/infer", json=body)
    assert response.status_code == 200
    assert response.json() == {
        "model_name": "linear",
        "model_version": "3",
        "id": "req-7",
        # [1, 0, 0] -> [1.5, 3]; [0, 1, 2] -> [8.5, 16]
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [2, 2], "data": [1.5, 3.0, 8.5, 16.0]}],
    }


async def test_infer_accepts_nested_data_and_the_versioned_path(serve, linear_model: Path) -> None:
    body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [[2, 2, 2]]}]}
    async with serve(Settings(model_path=linear_model)) as client:
        response = await client.post("/v2/models/linear/versions/3/infer", json=body)
    assert response.status_code == 200
    assert "id" not in response.json()
    assert response.json()["outputs"][0]["data"] == [12.5, 29.0]


async def test_digits_infer_returns_probabilities_and_labels(serve) -> None:
    zeros_and_ones = [[0.0] * 64, [16.0] * 64]
    body = {
        "inputs": [{"name": "pixels", "shape": [2, 64], "datatype": "FP32", "data": zeros_and_ones}],
        "outputs": [{"name": "label"}],
    }
    async with serve(Settings()) as client:
        full = await client.post("/v2/models/digits/infer", json={"inputs": body["inputs"]})
        only_label = await client.post("/v2/models/digits/infer", json=body)
    outputs = {out["name"]: out for out in full.json()["outputs"]}
    assert outputs["probabilities"]["shape"] == [2, 10]
    assert outputs["label"]["shape"] == [2] and outputs["label"]["datatype"] == "INT64"
    probabilities = outputs["probabilities"]["data"]
    for row in (probabilities[:10], probabilities[10:]):
        assert sum(row) == pytest.approx(1.0, abs=1e-5)
    assert outputs["label"]["data"] == [
        max(range(10), key=lambda k, r=row: r[k]) for row in (probabilities[:10], probabilities[10:])
    ]
    assert [out["name"] for out in only_label.json()["outputs"]] == ["label"]
