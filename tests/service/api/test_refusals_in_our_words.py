"""Refusals say what is wrong in the server's own words: no parser's or validator's text, no contradictions."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field, ValidationError

from service.api.errors import describe_validation_errors
from service.model.starter import write_starter
from service.settings import Settings

pytestmark = pytest.mark.anyio
INFER = "/v2/models/digits/infer"
LIBRARY_WORDS = (
    "surrogates not allowed",
    "str is not valid UTF-8",
    "should have",
    "after validation",
    "Input should",
)


def assert_ours(text: str) -> None:
    assert not any(words in text for words in LIBRARY_WORDS), text


async def test_a_lone_surrogate_in_json_is_a_400_in_our_words(serve) -> None:
    body = b'{"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 1], "data": ["\\ud800"]}]}'
    async with serve(Settings()) as client:
        response = await client.post(INFER, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not valid UTF-8 (a lone surrogate escape" in response.json()["error"]
    assert_ours(response.text)


def test_validation_errors_are_described_in_our_words() -> None:
    class Tensor(BaseModel):
        shape: tuple[int, ...] = Field(min_length=1)
        name: str

    with pytest.raises(ValidationError) as caught:
        Tensor.model_validate({"shape": [], "name": 3, "extra": 1})
    assert "Tuple should have at least 1 item after validation" in str(caught.value)  # pydantic's own text
    described = describe_validation_errors(caught.value.errors())
    assert described == "shape: must hold at least 1 item(s); name: must be a string"
    assert_ours(described)


@pytest.fixture
def starter(tmp_path: Path) -> Path:
    write_starter(tmp_path / "mine")
    return tmp_path / "mine"


async def test_a_number_in_a_bytes_tensor_is_named_as_json_names_it(serve, starter: Path) -> None:
    body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [7]}]}
    async with serve(Settings(model_path=starter)) as client:
        response = await client.post("/v2/models/mine/infer", json=body)
    assert response.status_code == 400
    assert "holds an integer, but a BYTES tensor holds strings" in response.json()["error"]


async def test_a_negative_size_is_refused_without_contradicting_itself(serve, starter: Path) -> None:
    body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1], "data": ["hi"]}]}
    async with serve(Settings(model_path=starter)) as client:
        response = await client.post("/v2/models/mine/infer", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert "a request gives its tensor's actual sizes, 0 or more" in error and "but 'text' takes" not in error


async def test_the_starter_answers_non_utf8_text_with_a_400(serve, starter: Path) -> None:
    async with serve(Settings(model_path=starter)) as client:
        response = await client.post(
            "/predict", content=b"\xff\xfe caf\xe9", headers={"content-type": "text/plain"}
        )
    assert response.status_code == 400
    assert response.json() == {"error": "text must be UTF-8"}


async def test_a_handler_models_metadata_names_a_platform(serve, starter: Path) -> None:
    async with serve(Settings(model_path=starter)) as client:
        response = await client.get("/v2/models/mine")
    assert response.json()["platform"] == "pytorch"
