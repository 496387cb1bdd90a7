"""The binary tensor extension, and Triton's own HTTP client talking to a real server unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest

from service.settings import Settings
from tests.service.live import start_server

ROWS = np.array([[1, 0, 0], [0, 1, 2]], dtype=np.float32)
EXPECTED = np.array([[1.5, 3.0], [8.5, 16.0]], dtype=np.float32)  # y0 = x0+2x1+3x2+0.5, y1 = 4x0+5x1+6x2-1


def binary_request(body: dict, *chunks: bytes) -> tuple[bytes, dict[str, str]]:
    header = orjson.dumps(body)
    return header + b"".join(chunks), {"Inference-Header-Content-Length": str(len(header))}


@pytest.mark.anyio
async def test_binary_inputs_and_outputs_round_trip(serve, linear_model: Path) -> None:
    raw = ROWS.tobytes()
    content, headers = binary_request(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [2, 3],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            "parameters": {"binary_data_output": True},
        },
        raw,
    )
    async with serve(Settings(model_path=linear_model)) as client:
        response = await client.post("/v2/models/linear/infer", content=content, headers=headers)
        extensions = (await client.get("/v2")).json()["extensions"]
    assert response.status_code == 200, response.text
    assert "binary_tensor_data" in extensions
    split = int(response.headers["inference-header-content-length"])
    header = orjson.loads(response.content[:split])
    (output,) = header["outputs"]
    assert output["shape"] == [2, 2] and "data" not in output
    assert output["parameters"]["binary_data_size"] == 16
    got = np.frombuffer(response.content[split:], dtype="<f4").reshape(2, 2)
    assert np.array_equal(got, EXPECTED)


@pytest.mark.anyio
async def test_one_output_can_be_asked_for_as_json_while_the_default_is_binary(
    serve, linear_model: Path
) -> None:
    body = {
        "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": ROWS.tolist()}],
        "parameters": {"binary_data_output": True},
        "outputs": [{"name": "y", "parameters": {"binary_data": False}}],
    }
    async with serve(Settings(model_path=linear_model)) as client:
        response = await client.post("/v2/models/linear/infer", json=body)
    assert "inference-header-content-length" not in response.headers
    assert response.json()["outputs"][0]["data"] == EXPECTED.ravel().tolist()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("declared", "sent", "header", "words"),
    [
        (24, 20, None, "carries 20"),
        (22, 22, None, "not a whole number"),
        (20, 20, None, "has 5 values, but shape [2, 3] needs 6"),
        (None, 0, None, "inputs[0].data is required"),
        (24, 24, "99999", "Inference-Header-Content-Length"),
        # str.isdigit accepts these, int() does not: each was a 500.
        (24, 24, b"\xb2", "Inference-Header-Content-Length"),  # superscript two, in latin-1
        (24, 24, "9" * 5000, "Inference-Header-Content-Length"),
        (24, 24, "-1", "Inference-Header-Content-Length"),
    ],
)
async def test_bad_binary_requests_get_a_400_naming_the_problem(
    serve, linear_model: Path, declared: int | None, sent: int, header: str | bytes | None, words: str
) -> None:
    tensor: dict = {"name": "x", "shape": [2, 3], "datatype": "FP32"}
    if declared is not None:
        tensor["parameters"] = {"binary_data_size": declared}
    content, json_headers = binary_request({"inputs": [tensor]}, ROWS.tobytes()[:sent])
    headers: dict[str, str | bytes] = dict(json_headers)
    if header is not None:
        headers["Inference-Header-Content-Length"] = header
    async with serve(Settings(model_path=linear_model)) as client:
        response = await client.post("/v2/models/linear/infer", content=content, headers=headers)
    assert response.status_code == 400
    assert words in response.json()["error"]


@pytest.fixture
def live_server(linear_model: Path, tmp_path: Path) -> Iterator[str]:
    """A real `python -m service` on 127.0.0.1, as Triton's client would reach it (host:port)."""
    server = start_server(tmp_path, LIFTOFF_MODEL_PATH=str(linear_model))
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop()


@pytest.mark.parametrize("binary_data", [True, False])
def test_tritons_http_client_works_unchanged(live_server: str, binary_data: bool) -> None:
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url=live_server)
    try:
        assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("linear")
        metadata = client.get_model_metadata("linear")
        assert metadata["inputs"][0] == {"name": "x", "datatype": "FP32", "shape": [-1, 3]}
        tensor = triton.InferInput("x", list(ROWS.shape), "FP32")
        tensor.set_data_from_numpy(ROWS, binary_data=binary_data)
        wanted = [triton.InferRequestedOutput("y", binary_data=binary_data)]
        result = client.infer("linear", [tensor], outputs=wanted, request_id="t-1")
        assert np.array_equal(result.as_numpy("y"), EXPECTED)
        assert result.get_response()["id"] == "t-1"
        default = client.infer("linear", [tensor])  # no outputs named: all of them, as binary
        assert np.array_equal(default.as_numpy("y"), EXPECTED)
        with pytest.raises(
            triton.InferenceServerException, match="Request for unknown model: 'nope' is not found"
        ):
            client.infer("nope", [tensor])
    finally:
        client.close()
