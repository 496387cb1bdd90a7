"""examples/text-classifier: raw text in, a tokenizer in the handler, variable-length ids, a label out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton

from service.settings import Settings
from tests.service.grpc.tritonclient_env import tritonclient_calls
from tests.service.live import free_port, start_server

pytestmark = pytest.mark.anyio

REVIEWS = {
    "a wonderful film": "positive",
    "the plot was boring and the acting awful": "negative",
    "great music": "positive",
    "really dull": "negative",
    "i thought the story was excellent and the acting superb": "positive",
    "a terrible weak plot": "negative",
}


async def test_a_text_body_gets_a_label_and_a_score(serve, text_classifier: Path) -> None:
    async with serve(Settings(model_path=text_classifier)) as client:
        response = await client.post(
            "/predict", content="A lovely, delightful film.", headers={"content-type": "text/plain"}
        )
        as_json = await client.post("/predict", json={"instances": ["an awful film"]})
        empty = await client.post("/predict", content="!!!", headers={"content-type": "text/plain"})
    prediction = response.json()["predictions"][0]
    assert prediction["label"] == "positive" and 0.5 < prediction["score"] <= 1
    assert as_json.json()["predictions"][0]["label"] == "negative"
    assert empty.status_code == 400 and empty.json() == {"error": "the text has no words"}


async def test_texts_of_mixed_lengths_under_concurrency(serve, text_classifier: Path) -> None:
    texts = list(REVIEWS) * 4
    async with serve(Settings(model_path=text_classifier)) as client:
        answers = await asyncio.gather(
            *(client.post("/predict", content=text, headers={"content-type": "text/plain"}) for text in texts)
        )
    assert [answer.json()["predictions"][0]["label"] for answer in answers] == [REVIEWS[t] for t in texts]


async def test_tritonclient_bytes_inputs(serve, text_classifier: Path) -> None:
    text = triton.InferInput("text", [1], "BYTES")
    text.set_data_from_numpy(np.array([b"great music"], dtype=object), binary_data=False)
    wanted = [triton.InferRequestedOutput("label", binary_data=False)]
    body, _ = triton.InferenceServerClient.generate_request_body([text], outputs=wanted)
    async with serve(Settings(model_path=text_classifier)) as client:
        response = await client.post("/v2/models/text-classifier/infer", content=body)
    result = triton.InferenceServerClient.parse_response_body(response.content)
    assert result.as_numpy("label").tolist() == ["positive"]  # JSON strings come back as str
    assert result.get_output("label")["datatype"] == "BYTES"


@pytest.mark.slow
def test_tritonclient_grpc_bytes_inputs_raw_and_typed(text_classifier: Path, tmp_path: Path) -> None:
    """tritonclient.grpc unchanged (tests/service/grpc/tritonclient_env.py) against a real server."""
    grpc_port = free_port()
    server = start_server(tmp_path, LIFTOFF_MODEL_PATH=str(text_classifier), LIFTOFF_GRPC_PORT=str(grpc_port))
    try:
        answer = tritonclient_calls("text", f"127.0.0.1:{grpc_port}", "", list(REVIEWS))
    finally:
        server.stop()
    assert answer["raw_labels"] == answer["typed_labels"] == list(REVIEWS.values())
    assert set(answer["datatypes"]) == {"BYTES"}
    assert all(0.5 < score <= 1 for score in answer["raw_scores"])
