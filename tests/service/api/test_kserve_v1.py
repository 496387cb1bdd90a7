"""KServe's v1 REST protocol: readiness and `:predict`, answered by the same handlers as v2 and /predict."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings

pytestmark = pytest.mark.anyio


async def test_v1_model_status_is_ready_and_lists_the_model(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        status = await client.get("/v1/models/linear")
        listing = await client.get("/v1/models")
    assert status.status_code == 200 and status.json() == {"name": "linear", "ready": True}
    assert listing.json() == {"models": ["linear"]}


async def test_v1_predict_answers_rows_by_hand(serve, linear_model: Path) -> None:
    # y0 = x0 + 2 x1 + 3 x2 + 0.5, y1 = 4 x0 + 5 x1 + 6 x2 - 1
    body = {"instances": [[1, 0, 0], [2, 2, 2]]}
    async with serve(Settings(model_path=linear_model)) as client:
        v1 = await client.post("/v1/models/linear:predict", json=body)
        plain = await client.post("/predict", json=body)
    assert v1.status_code == 200
    assert v1.json() == {"predictions": [[1.5, 3.0], [12.5, 29.0]]}
    assert v1.json() == plain.json()


async def test_v1_predict_of_digits_gives_a_label_per_row(serve) -> None:
    async with serve(Settings()) as client:
        response = await client.post(
            "/v1/models/digits:predict", json={"instances": [[0.0] * 64, [16.0] * 64]}
        )
    predictions = response.json()["predictions"]
    assert len(predictions) == 2
    for row in predictions:
        assert row["label"] == max(range(10), key=lambda k, r=row: r["probabilities"][k])


async def test_v1_unknown_model_is_404_naming_the_served_one(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        status = await client.get("/v1/models/other")
        predict = await client.post("/v1/models/other:predict", json={"instances": [[1, 2, 3]]})
    for response in (status, predict):
        assert response.status_code == 404
        assert "'other'" in response.json()["error"] and "'linear'" in response.json()["error"]


async def test_v1_bad_rows_are_400_naming_the_field(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        missing = await client.post("/v1/models/linear:predict", json={"rows": [[1, 2, 3]]})
        short = await client.post("/v1/models/linear:predict", json={"instances": [[1, 2]]})
    assert missing.status_code == 400 and "instances" in missing.json()["error"]
    assert short.status_code == 400 and "instances" in short.json()["error"]


async def test_v1_explain_is_501_with_a_message(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        response = await client.post("/v1/models/linear:explain", json={"instances": [[1, 2, 3]]})
    assert response.status_code == 501
    assert ":explain" in response.json()["error"]
