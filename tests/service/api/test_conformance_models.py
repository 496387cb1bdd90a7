"""The Triton example models `make conformance` serves (lab/conformance/models/), built as a user builds a
model: each answers the sums and differences its example clients check, over REST here."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings

pytestmark = pytest.mark.anyio
MODELS = Path(__file__).parents[3] / "lab" / "conformance" / "models"
FIRST = list(range(16))
SECOND = [1] * 15 + [-3]


def tensor(name: str, datatype: str, values: list[object]) -> dict[str, object]:
    return {"name": name, "datatype": datatype, "shape": [1, 16], "data": values}


@pytest.mark.parametrize("model", ["simple", "simple_int8"])
async def test_simple_answers_sum_and_difference(serve, model: str) -> None:
    datatype = "INT32" if model == "simple" else "INT8"
    body = {"inputs": [tensor("INPUT0", datatype, FIRST), tensor("INPUT1", datatype, SECOND)]}
    async with serve(Settings(model_path=MODELS / model)) as client:
        response = await client.post(f"/v2/models/{model}/infer", json=body)
    assert response.status_code == 200, response.text
    outputs = {output["name"]: output for output in response.json()["outputs"]}
    assert outputs["OUTPUT0"]["data"] == [a + b for a, b in zip(FIRST, SECOND, strict=True)]
    assert outputs["OUTPUT1"]["data"] == [a - b for a, b in zip(FIRST, SECOND, strict=True)]
    assert outputs["OUTPUT0"]["datatype"] == datatype


async def test_simple_string_answers_decimal_strings(serve) -> None:
    body = {
        "inputs": [
            tensor("INPUT0", "BYTES", [str(v) for v in FIRST]),
            tensor("INPUT1", "BYTES", [str(v) for v in SECOND]),
        ]
    }
    async with serve(Settings(model_path=MODELS / "simple_string")) as client:
        response = await client.post("/v2/models/simple_string/infer", json=body)
        bad = await client.post(
            "/v2/models/simple_string/infer",
            json={"inputs": [tensor("INPUT0", "BYTES", ["x"] * 16), tensor("INPUT1", "BYTES", ["1"] * 16)]},
        )
    assert response.status_code == 200, response.text
    outputs = {output["name"]: output for output in response.json()["outputs"]}
    assert outputs["OUTPUT0"]["data"] == [str(a + b) for a, b in zip(FIRST, SECOND, strict=True)]
    assert outputs["OUTPUT1"]["data"] == [str(a - b) for a, b in zip(FIRST, SECOND, strict=True)]
    assert bad.status_code == 400 and "INPUT0 must hold decimal integers" in bad.json()["error"]
