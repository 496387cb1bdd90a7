"""A model directory's handler through the server: its decode, its batched predict, its encode, its refusals."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import tritonclient.http as triton
from torch import nn

from service.settings import Settings
from tests.service.conftest import BIAS, LINEAR_METADATA, WEIGHT, handler_model, write_model

pytestmark = pytest.mark.anyio

# Loads weights itself (no model file), decodes by doubling x, encodes y and a label; its predict waits at a
# gate the test opens, and records each batch's rows.
WEIGHTS_HANDLER = """
import threading

import torch
from torch import nn

from service.handler import Handler, RequestError


class Linear(Handler):
    def setup(self, context):
        super().setup(context)
        self.layer = nn.Linear(3, 2)
        self.layer.load_state_dict(torch.load(context.directory / "weights.pt"))
        self.gate = threading.Event()
        self.gate.set()
        self.batches = []

    def decode(self, inputs):
        x = inputs["x"]
        if (x < 0).any():
            raise RequestError("x must not be negative here", status=422)
        if (x > 1000).any():
            raise RuntimeError("a bug in the handler at /secret/path/handler.py")
        return [x * 2]

    def predict(self, x):
        self.batches.append(int(x.shape[0]))
        assert self.gate.wait(30)
        return {"y": self.layer(x)}

    def encode(self, outputs):
        y = outputs["y"]
        return {"y": y, "label": ["big" if row.sum() > 50 else "small" for row in y]}
"""

WEIGHTS_METADATA = {
    **LINEAR_METADATA,
    "outputs": [
        {"name": "y", "datatype": "FP32", "shape": [-1, 2]},
        {"name": "label", "datatype": "BYTES", "shape": [-1]},
    ],
}


def expected_y(x: list[float]) -> list[float]:
    x0, x1, x2 = (2 * value for value in x)  # the handler's decode doubles x
    return [x0 + 2 * x1 + 3 * x2 + 0.5, 4 * x0 + 5 * x1 + 6 * x2 - 1]


@pytest.fixture
def weights_dir(tmp_path: Path) -> Path:
    root = tmp_path / "linear"
    root.mkdir()
    layer = nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(WEIGHT))
        layer.bias.copy_(torch.tensor(BIAS))
    torch.save(layer.state_dict(), root / "weights.pt")
    (root / "model.json").write_text(json.dumps(WEIGHTS_METADATA))
    (root / "handler.py").write_text(WEIGHTS_HANDLER)
    return root


def infer_body(x: list[float]) -> dict:
    return {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": x}]}


async def test_decode_predict_and_encode_answer_each_request(serve, weights_dir: Path) -> None:
    async with serve(Settings(model_path=weights_dir)) as client:
        response = await client.post("/v2/models/linear/infer", json=infer_body([1, 2, 3]))
        predicted = await client.post("/predict", json={"instances": [[0, 0, 0]]})
    assert response.status_code == 200, response.text
    outputs = {out["name"]: out for out in response.json()["outputs"]}
    assert outputs["y"]["data"] == expected_y([1, 2, 3])
    assert outputs["label"] == {"name": "label", "datatype": "BYTES", "shape": [1], "data": ["big"]}
    assert predicted.json() == {"predictions": [{"y": expected_y([0, 0, 0]), "label": "small"}]}


async def test_concurrent_requests_share_one_predict(serve, weights_dir: Path, until) -> None:
    async with serve(Settings(model_path=weights_dir)) as client:
        state = client._transport.app.state.liftoff  # type: ignore[attr-defined]
        handler = state.model.handler
        handler.batches.clear()  # the warm-up's check ran its own
        handler.gate.clear()
        first = asyncio.create_task(client.post("/v2/models/linear/infer", json=infer_body([1, 0, 0])))
        await until(lambda: handler.batches == [1])
        rows = [[float(i), 1, 2] for i in range(5)]
        rest = [asyncio.create_task(client.post("/v2/models/linear/infer", json=infer_body(x))) for x in rows]
        await until(lambda: state.batcher.queued_rows == 5)
        handler.gate.set()
        answers = [await first, *[await task for task in rest]]
    assert handler.batches == [1, 5]
    for x, answer in zip([[1, 0, 0], *rows], answers, strict=True):
        assert answer.json()["outputs"][0]["data"] == expected_y(x)


async def test_a_request_error_is_a_4xx_with_its_message(serve, weights_dir: Path) -> None:
    async with serve(Settings(model_path=weights_dir)) as client:
        response = await client.post("/v2/models/linear/infer", json=infer_body([-1, 0, 0]))
    assert response.status_code == 422
    assert response.json() == {"error": "x must not be negative here"}


async def test_any_other_failure_is_a_500_with_a_request_id_and_nothing_internal(
    serve, weights_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(Settings(model_path=weights_dir)) as client:
        response = await client.post("/v2/models/linear/infer", json=infer_body([2000, 0, 0]))
    assert response.status_code == 500
    error = response.json()["error"]
    request_id = response.headers["x-request-id"]
    assert error == f"internal error (request id {request_id}); the server log has the details"
    for leak in ("Traceback", "/secret", "handler.py", "RuntimeError", torch.__version__):
        assert leak not in response.text
    assert any(request_id in record.getMessage() and record.exc_info for record in caplog.records)


class _DictModel(nn.Module):
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"total": x.sum(dim=1), "twice": x * 2}


async def test_a_model_returning_a_dict_is_answered_by_output_name(serve, tmp_path: Path) -> None:
    metadata = {
        "name": "dicts",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
        "outputs": [
            {"name": "twice", "datatype": "FP32", "shape": [-1, 3]},
            {"name": "total", "datatype": "FP32", "shape": [-1]},
        ],
    }
    root = tmp_path / "dicts"
    root.mkdir()
    (root / "model.json").write_text(json.dumps(metadata))
    write_model(_DictModel(), root / "model.pt", metadata)
    async with serve(Settings(model_path=root)) as client:
        response = await client.post("/predict", json={"instances": [[1, 2, 3]]})
    assert response.json() == {"predictions": [{"twice": [2.0, 4.0, 6.0], "total": 6.0}]}


# Text in (BYTES), token ids of the text's own length (a variable dimension), a label and a score out.
TEXT_HANDLER = """
import numpy as np
import torch

from service.handler import Handler


class Words(Handler):
    def setup(self, context):
        super().setup(context)
        self.batches = []

    def decode(self, inputs):
        words = inputs["text"][0].decode().split()
        return [np.array([[len(word) for word in words]], dtype=np.int64)]

    def predict(self, ids):
        self.batches.append(tuple(ids.shape))
        return {"total": ids.sum(dim=1).float(), "count": torch.full((ids.shape[0],), ids.shape[1])}

    def encode(self, outputs):
        total, count = outputs["total"], outputs["count"]
        return {"label": [f"{int(n)} words" for n in count], "score": total}
"""

TEXT_METADATA = {
    "name": "words",
    "inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1], "content_types": ["text/plain"]}],
    "outputs": [
        {"name": "label", "datatype": "BYTES", "shape": [-1]},
        {"name": "score", "datatype": "FP32", "shape": [-1]},
    ],
    "sample": {"text": "one two"},
}


@pytest.fixture
def text_dir(tmp_path: Path) -> Path:
    return handler_model(tmp_path, TEXT_METADATA, TEXT_HANDLER)


async def test_bytes_inputs_of_mixed_lengths_are_batched_by_shape(serve, text_dir: Path) -> None:
    texts = ["a bb ccc", "dddd", "ee f", "g hh iii", "jjjjj", "k l"] * 3
    async with serve(Settings(model_path=text_dir, max_batch_size=8)) as client:
        bodies = [
            {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [text]}]}
            for text in texts
        ]
        answers = await asyncio.gather(*(client.post("/v2/models/words/infer", json=body) for body in bodies))
        handler = client._transport.app.state.liftoff.model.handler  # type: ignore[attr-defined]
    for text, answer in zip(texts, answers, strict=True):
        outputs = {out["name"]: out["data"] for out in answer.json()["outputs"]}
        words = text.split()
        assert outputs == {"label": [f"{len(words)} words"], "score": [float(sum(map(len, words)))]}
    assert all(len(shape) == 2 for shape in handler.batches)  # each pass one length: no ragged rows


async def test_bytes_travel_as_tritonclient_sends_them(serve, text_dir: Path) -> None:
    text = triton.InferInput("text", [1], "BYTES")
    text.set_data_from_numpy(np.array([b"one two three"], dtype=object), binary_data=True)
    wanted = [triton.InferRequestedOutput(name, binary_data=True) for name in ("label", "score")]
    body, json_size = triton.InferenceServerClient.generate_request_body([text], outputs=wanted)
    headers = {"Inference-Header-Content-Length": str(json_size)} if json_size else {}
    async with serve(Settings(model_path=text_dir)) as client:
        response = await client.post("/v2/models/words/infer", content=body, headers=headers)
    assert response.status_code == 200, response.text
    header = response.headers.get("inference-header-content-length")
    result = triton.InferenceServerClient.parse_response_body(
        response.content, header_length=int(header) if header else None
    )
    assert result.as_numpy("label").tolist() == [b"3 words"]
    assert result.as_numpy("score").tolist() == [11.0]
