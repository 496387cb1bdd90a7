"""The body limit follows the model: its largest request passes, a little more is a 413."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from service.api import common, oip, predict
from service.body_limit import FALLBACK_BYTES, model_body_limit, model_separator_limit
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


def test_a_json_body_may_hold_as_many_commas_as_the_largest_request_has_values_plus_room() -> None:
    digits = [TensorSpec(name="pixels", datatype="FP32", shape=(-1, 64))]
    assert model_separator_limit(digits, 32) == 32 * 64 + 4096
    variable = [TensorSpec(name="text", datatype="BYTES", shape=(-1,))]
    assert model_separator_limit(variable, 32) is None


@pytest.mark.parametrize(
    ("route", "head", "tail"),
    [
        ("/predict", b'{"instances": [[', b"]]}"),
        (
            "/v2/models/linear/infer",
            b'{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [',
            b"]}]}",
        ),
    ],
)
async def test_zeros_past_the_models_largest_request_are_refused_before_parsing(
    serve, linear_model: Path, monkeypatch: pytest.MonkeyPatch, route: str, head: bytes, tail: bytes
) -> None:
    """Within the byte limit, `0,0,...` holds 12 times the values of the longest numbers it was sized for:
    parsing it was the costliest part of a hostile body (0.4 ms for 116 KB on the loop's GIL)."""
    parsed: list[int] = []
    module = predict if route == "/predict" else oip
    real = module.parse_json

    def recording(raw: bytes, model: Any) -> Any:
        parsed.append(len(raw))
        return real(raw, model)

    monkeypatch.setattr(module, "parse_json", recording)
    limit = 32 * 3 + 4096
    own = head.count(b",")  # the body's own commas, besides the values'
    async with serve(Settings(model_path=linear_model, max_batch_size=32)) as client:
        zeros = head + b",".join([b"0"] * (limit + 2 - own)) + tail  # limit + 1 commas, 8 KB of bytes
        refused = await client.post(route, content=zeros, headers={"content-type": "application/json"})
        within = head + b",".join([b"0"] * (limit + 1 - own)) + tail  # limit commas: parsed, wrong shape
        parsed_ok = await client.post(route, content=within, headers={"content-type": "application/json"})
    assert refused.status_code == 400
    assert f"{limit + 1} commas" in refused.json()["error"] and "fewer rows" in refused.json()["error"]
    assert parsed_ok.status_code == 400 and "commas" not in parsed_ok.json()["error"]
    assert parsed == [len(within)]


async def test_a_body_refused_for_its_count_waits_for_its_400_without_holding_anyone_elses_batch(
    serve, linear_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pause throttles a client that posts such bodies back to back (unthrottled, two of them raise a
    third client's p99 several times); it comes before the batcher hears of the request, so others are not held."""
    monkeypatch.setattr(common, "REFUSED_BODY_PAUSE_S", 30.0)
    limit = 32 * 3 + 4096
    zeros = b'{"instances": [[' + b",".join([b"0"] * (limit + 2)) + b"]]}"
    async with serve(
        Settings(model_path=linear_model, max_batch_size=32, max_batch_wait_ms=10_000)
    ) as client:
        refused = asyncio.create_task(
            client.post("/predict", content=zeros, headers={"content-type": "application/json"})
        )
        await asyncio.sleep(0.2)  # the refused request is in its pause
        answered = await asyncio.wait_for(client.post("/predict", json={"instances": [[1, 2, 3]]}), 5)
        assert answered.status_code == 200 and not refused.done()
        refused.cancel()
