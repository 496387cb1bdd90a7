"""The body limit follows the model (issue 20, item 3): its largest request passes, a little more is a 413."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from service.body_limit import FALLBACK_BYTES, model_body_limit
from service.model.metadata import TensorSpec
from service.settings import Settings

pytestmark = pytest.mark.anyio

LONGEST_FLOAT = -1.2345678901234567e-308  # 24 characters as JSON, the longest a float64 prints


def test_the_limit_is_a_full_batch_of_the_longest_numbers_plus_room() -> None:
    digits = [TensorSpec(name="pixels", datatype="FP32", shape=(-1, 64))]
    assert model_body_limit(digits, 32) == 32 * 64 * 25 + 64 * 1024  # 116,736 bytes, not 8 MiB
    two = [*digits, TensorSpec(name="mask", datatype="INT64", shape=(-1, 2, 3))]
    assert model_body_limit(two, 4) == 4 * 70 * 25 + 64 * 1024
    variable = [TensorSpec(name="text", datatype="FP32", shape=(-1, -1))]
    assert model_body_limit(variable, 32) == FALLBACK_BYTES


async def test_the_largest_request_passes_and_a_body_past_the_limit_is_413(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model, max_batch_size=32)) as client:
        largest = orjson.dumps({"instances": [[LONGEST_FLOAT] * 3] * 32})
        ok = await client.post("/predict", content=largest, headers={"content-type": "application/json"})
        limit = 32 * 3 * 25 + 64 * 1024
        padded = b'{"instances": [[1, 2, 3]]' + b" " * limit + b"}"  # valid JSON, one row, too long
        refused = await client.post("/predict", content=padded, headers={"content-type": "application/json"})
    assert ok.status_code == 200, ok.text
    assert refused.status_code == 413
    assert f"larger than {limit} bytes" in refused.json()["error"]


async def test_max_body_bytes_overrides_the_model_limit(serve, linear_model: Path) -> None:
    padded = b'{"instances": [[1, 2, 3]]' + b" " * 200_000 + b"}"
    async with serve(Settings(model_path=linear_model, max_body_bytes=300_000)) as client:
        response = await client.post("/predict", content=padded, headers={"content-type": "application/json"})
    assert response.status_code == 200
