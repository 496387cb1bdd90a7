"""`/predict` with base64 rows, `{"b64": ...}` per instance: decoded to the input's datatype and shape."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from service.settings import Settings
from tests.service.conftest import write_model

pytestmark = pytest.mark.anyio


class ChannelSums(nn.Module):
    """UINT8 [n, 2, 2, 2] -> the sum of each channel as FP32 [n, 2]: answers anyone can check by hand."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image.to(torch.float32).sum(dim=(2, 3))


@pytest.fixture
def image_model(tmp_path: Path) -> Path:
    return write_model(
        ChannelSums(),
        tmp_path / "sums.pt",
        {
            "name": "sums",
            "inputs": [{"name": "image", "datatype": "UINT8", "shape": [-1, 2, 2, 2]}],
            "outputs": [{"name": "sums", "datatype": "FP32", "shape": [-1, 2]}],
        },
    )


def b64(values: list[int]) -> dict[str, str]:
    return {"b64": base64.b64encode(np.array(values, dtype=np.uint8).tobytes()).decode()}


async def test_base64_rows_are_decoded_as_the_inputs_datatype(serve, image_model: Path) -> None:
    async with serve(Settings(model_path=image_model)) as client:
        rows = [b64([1, 2, 3, 4, 10, 20, 30, 255]), b64([0] * 8)]
        response = await client.post("/predict", json={"instances": rows})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [[10.0, 315.0], [0.0, 0.0]]}


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        (
            [{"b64": "AAAA"}],
            "instances[0].b64 holds 3 bytes, but one row of 'image' (UINT8 [2, 2, 2]) is 8 bytes",
        ),
        ([{"b64": "not base64!"}], "instances[0].b64 is not valid base64"),
        ([{"b64": base64.b64encode(bytes(8)).decode()}, [0] * 8], "instances[1] must be"),
        ([{"b64": 5}], "instances[0] must be"),
        ([{"b64": base64.b64encode(bytes(8)).decode(), "x": 1}], "instances[0] must be"),
    ],
)
async def test_bad_base64_rows_get_a_400_naming_the_instance(
    serve, image_model: Path, instances: list[object], message: str
) -> None:
    async with serve(Settings(model_path=image_model)) as client:
        response = await client.post("/predict", json={"instances": instances})
    assert response.status_code == 400
    assert message in response.json()["error"]
