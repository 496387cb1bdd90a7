"""BYTES bodies that pack far more elements than their declared shape are refused on the count, before the
elements are walked (binary extension and JSON), naming the shape."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from service.settings import Settings
from tests.service.api.test_handler_api import TEXT_HANDLER, TEXT_METADATA
from tests.service.conftest import handler_model

pytestmark = pytest.mark.anyio
INFER = "/v2/models/words/infer"
MANY = 200_000


@pytest.fixture
def words(tmp_path: Path) -> Path:
    return handler_model(tmp_path, TEXT_METADATA, TEXT_HANDLER)


def _binary(shape: list[int], payload: bytes) -> tuple[bytes, dict[str, str]]:
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "text",
                    "datatype": "BYTES",
                    "shape": shape,
                    "parameters": {"binary_data_size": len(payload)},
                }
            ]
        }
    )
    return header + payload, {
        "inference-header-content-length": str(len(header)),
        "content-type": "application/octet-stream",
    }


async def test_millions_of_empty_binary_elements_are_refused_on_the_declared_count(
    serve, words: Path
) -> None:
    async with serve(Settings(model_path=words)) as client:
        body, headers = _binary([1], b"\0\0\0\0" * MANY)
        answer = await client.post(INFER, content=body, headers=headers)
        assert answer.status_code == 400
        assert "more than the 1 elements of its shape" in answer.json()["error"]
        body, headers = _binary([4], b"\0\0\0\0")
        answer = await client.post(INFER, content=body, headers=headers)
        assert answer.status_code == 400
        assert "too few for the 4 elements" in answer.json()["error"]
        body, headers = _binary([1], b"\x02\0\0\0hi")  # the well-formed one still serves
        assert (await client.post(INFER, content=body, headers=headers)).status_code == 200


async def test_json_bytes_nested_past_the_declared_shape_are_refused_on_the_lists(serve, words: Path) -> None:
    async with serve(Settings(model_path=words)) as client:
        for data, said in [
            ([[""] * MANY], "nested deeper than shape [1]"),
            ([[""] * MANY, ["x"]], "has 2 entries at depth 0"),
        ]:
            body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": data}]}
            answer = await client.post(INFER, content=orjson.dumps(body))
            assert answer.status_code == 400
            assert said in answer.json()["error"]
