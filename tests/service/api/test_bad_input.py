"""Bad input never yields a 500: each case gets a 4xx whose `error` names the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.settings import Settings

pytestmark = pytest.mark.anyio

INFER = "/v2/models/linear/infer"


def tensor(**overrides: Any) -> dict[str, Any]:
    value = {"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}
    value.update(overrides)
    return value


CASES: list[tuple[str, str, bytes | dict[str, Any], int, tuple[str, ...]]] = [
    ("malformed JSON", INFER, b'{"inputs": [', 400, ("not valid JSON",)),
    ("a body that is not an object", INFER, b"[1, 2, 3]", 400, ("JSON object",)),
    (
        "NaN, which JSON cannot carry",
        INFER,
        b'{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [NaN, 1, 2]}]}',
        400,
        ("NaN",),
    ),
    (
        "infinity",
        INFER,
        b'{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [Infinity, 1, 2]}]}',
        400,
        ("Infinity",),
    ),
    (
        "a number too large for FP32",
        INFER,
        {"inputs": [tensor(data=[1e39, 1, 2])]},
        400,
        ("inputs[0].data", "infinity"),
    ),
    ("no inputs field", INFER, {"outputs": []}, 400, ("inputs", "required")),
    ("shape not a list", INFER, {"inputs": [tensor(shape="1x3")]}, 400, ("inputs[0].shape",)),
    (
        "wrong row shape",
        INFER,
        {"inputs": [tensor(shape=[1, 4], data=[1, 2, 3, 4])]},
        400,
        ("inputs[0].shape", "[-1, 3]"),
    ),
    (
        "data not matching the shape",
        INFER,
        {"inputs": [tensor(shape=[2, 3])]},
        400,
        ("inputs[0].data", "3 values", "needs 6"),
    ),
    (
        "ragged rows",
        INFER,
        {"inputs": [tensor(shape=[2, 3], data=[[1, 2, 3], [4, 5]])]},
        400,
        ("inputs[0].data", "rectangular"),
    ),
    ("wrong datatype", INFER, {"inputs": [tensor(datatype="INT64")]}, 400, ("inputs[0].datatype", "FP32")),
    ("strings as data", INFER, {"inputs": [tensor(data=["a", "b", "c"])]}, 400, ("inputs[0].data", "string")),
    ("null in data", INFER, {"inputs": [tensor(data=[1, None, 3])]}, 400, ("inputs[0].data",)),
    (
        "booleans for a float tensor",
        INFER,
        {"inputs": [tensor(data=[True, False, True])]},
        400,
        ("inputs[0].data", "boolean"),
    ),
    ("an empty batch", INFER, {"inputs": [tensor(shape=[0, 3], data=[])]}, 400, ("empty batch",)),
    (
        "a batch over the limit",
        INFER,
        {"inputs": [tensor(shape=[5, 3], data=[[1, 2, 3]] * 5)]},
        400,
        ("5 rows", "limit of 4"),
    ),
    ("an unknown input name", INFER, {"inputs": [tensor(name="pixels")]}, 400, ("'pixels'", "['x']")),
    ("the same input twice", INFER, {"inputs": [tensor(), tensor()]}, 400, ("twice",)),
    (
        "an unknown output name",
        INFER,
        {"inputs": [tensor()], "outputs": [{"name": "z"}]},
        400,
        ("outputs[0].name", "'z'"),
    ),
    ("an unknown model", "/v2/models/resnet/infer", {"inputs": [tensor()]}, 404, ("'resnet'", "'linear'")),
    (
        "an unknown model version",
        "/v2/models/linear/versions/9/infer",
        {"inputs": [tensor()]},
        404,
        ("version '9'",),
    ),
    ("predict: no instances", "/predict", {"rows": [[1, 2, 3]]}, 400, ("instances", "required")),
    ("predict: empty batch", "/predict", {"instances": []}, 400, ("instances", "empty batch")),
    ("predict: wrong row length", "/predict", {"instances": [[1, 2]]}, 400, ("shape [3]", "[2]")),
    ("predict: batch over the limit", "/predict", {"instances": [[1, 2, 3]] * 5}, 400, ("limit of 4",)),
    ("predict: strings", "/predict", {"instances": [["1", "2", "3"]]}, 400, ("instances", "string")),
]


@pytest.mark.parametrize(
    ("path", "body", "status", "words"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
async def test_bad_input_gets_a_4xx_naming_the_problem(
    serve, linear_model: Path, path: str, body: bytes | dict[str, Any], status: int, words: tuple[str, ...]
) -> None:
    async with serve(Settings(model_path=linear_model, max_batch_size=4)) as client:
        if isinstance(body, bytes):
            response = await client.post(path, content=body, headers={"content-type": "application/json"})
        else:
            response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    for word in words:
        assert word in error, f"{word!r} not in {error!r}"


async def test_a_body_over_the_limit_is_refused_from_its_content_length(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model, max_body_bytes=1024)) as client:
        response = await client.post(INFER, content=b"x" * 5000, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "LIFTOFF_MAX_BODY_BYTES" in response.json()["error"]


async def test_a_streamed_body_is_cut_off_once_it_passes_the_limit(serve, linear_model: Path) -> None:
    chunks_sent = 0

    async def endless_body():
        nonlocal chunks_sent
        for _ in range(1000):
            chunks_sent += 1
            yield b" " * 512

    async with serve(Settings(model_path=linear_model, max_body_bytes=2048)) as client:
        response = await client.post(
            INFER, content=endless_body(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert "2048 bytes" in response.json()["error"]
    assert chunks_sent < 20, "the server read far past the limit before refusing"


async def test_an_unknown_path_answers_404_in_the_error_shape(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        response = await client.get("/v3/whatever")
    assert response.status_code == 404
    assert "error" in response.json()
