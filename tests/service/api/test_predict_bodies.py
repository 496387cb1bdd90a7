"""`/predict` with raw bodies, form uploads and several inputs; 415 with a hint where the model takes none."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from service.settings import Settings
from tests.service.conftest import handler_model, write_model

pytestmark = pytest.mark.anyio

# Counts the bytes of whatever file it is sent, and echoes the first byte: enough to prove the bytes arrived.
FILE_HANDLER = """
import numpy as np

from service.handler import Handler


class Sizes(Handler):
    def setup(self, context):
        super().setup(context)

    def decode(self, inputs):
        return [np.array([[len(raw), raw[0] if raw else -1] for raw in inputs["file"]], dtype=np.int64)]

    def predict(self, x):
        return x

    def encode(self, outputs):
        size, first = outputs["output0"][:, 0], outputs["output0"][:, 1]
        return {"size": size, "first": [chr(int(b)) for b in first]}
"""

FILE_METADATA = {
    "name": "sizes",
    "inputs": [
        {"name": "file", "datatype": "BYTES", "shape": [-1], "content_types": ["image/png", "text/plain"]}
    ],
    "outputs": [
        {"name": "size", "datatype": "INT64", "shape": [-1]},
        {"name": "first", "datatype": "BYTES", "shape": [-1]},
    ],
    "sample": {"file": "abc"},
}


@pytest.fixture
def file_dir(tmp_path: Path) -> Path:
    return handler_model(tmp_path, FILE_METADATA, FILE_HANDLER)


async def test_a_raw_body_of_a_declared_type_is_one_row(serve, file_dir: Path) -> None:
    async with serve(Settings(model_path=file_dir)) as client:
        png = await client.post("/predict", content=b"\x89PNG....", headers={"content-type": "image/png"})
        text = await client.post(
            "/predict", content="héllo", headers={"content-type": "text/plain; charset=utf-8"}
        )
    assert png.json() == {"predictions": [{"size": 8, "first": "\x89"}]}
    assert text.json() == {"predictions": [{"size": 6, "first": "h"}]}


async def test_a_form_upload_is_one_row(serve, file_dir: Path) -> None:
    async with serve(Settings(model_path=file_dir)) as client:
        response = await client.post("/predict", files={"file": ("digit.png", b"PNGDATA", "image/png")})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [{"size": 7, "first": "P"}]}


async def test_json_strings_reach_a_bytes_input_too(serve, file_dir: Path) -> None:
    async with serve(Settings(model_path=file_dir)) as client:
        response = await client.post("/predict", json={"instances": ["abc", "de"]})
    assert response.json() == {"predictions": [{"size": 3, "first": "a"}, {"size": 2, "first": "d"}]}


async def test_a_content_type_the_model_does_not_take_is_415_naming_those_it_does(
    serve, file_dir: Path
) -> None:
    async with serve(Settings(model_path=file_dir)) as client:
        response = await client.post("/predict", content=b"\xff\xd8", headers={"content-type": "image/jpeg"})
    assert response.status_code == 415
    assert response.json()["error"] == (
        "model 'sizes' does not take image/jpeg bodies; it takes application/json, image/png, text/plain, "
        "multipart/form-data"
    )


async def test_a_png_sent_to_a_numeric_model_is_415_with_a_hint(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        predict = await client.post("/predict", content=b"\x89PNG", headers={"content-type": "image/png"})
        infer = await client.post(
            "/v2/models/linear/infer", content=b"\x89PNG", headers={"content-type": "image/png"}
        )
    assert predict.status_code == 415 and infer.status_code == 415
    error = predict.json()["error"]
    assert "does not take image/png bodies; it takes application/json" in error
    assert "'x' (FP32 [-1, 3])" in error and "content_types" in error and "handler.py" in error
    assert "raw files and text go to /predict" in infer.json()["error"]


class _TwoInputs(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b.sum(dim=1, keepdim=True)


async def test_a_model_with_several_inputs_takes_instances_keyed_by_name(serve, tmp_path: Path) -> None:
    metadata = {
        "name": "two",
        "inputs": [
            {"name": "a", "datatype": "FP32", "shape": [-1, 2]},
            {"name": "b", "datatype": "FP32", "shape": [-1, 3]},
        ],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
    }
    model = write_model(_TwoInputs(), tmp_path / "two.pt", metadata)
    async with serve(Settings(model_path=model)) as client:
        good = await client.post(
            "/predict",
            json={
                "instances": [
                    {"a": [1, 2], "b": [1, 1, 1], "label": "ignored"},
                    {"b": [0, 0, 2], "a": [3, 4]},
                ]
            },
        )
        missing = await client.post("/predict", json={"instances": [{"a": [1, 2]}]})
    assert good.json() == {"predictions": [[3.0, 6.0], [6.0, 8.0]]}
    assert missing.status_code == 400
    assert missing.json()["error"] == "instances[0] has no 'b' (model 'two' takes ['a', 'b'])"
