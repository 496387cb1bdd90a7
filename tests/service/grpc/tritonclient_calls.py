"""Run by the tritonclient.grpc tool environment (.venv-tritonclient), never by the project's: calls a server as
a Triton user would and prints what came back as one JSON object.

    python tritonclient_calls.py digits|text|extensions|model_ready HOST:PORT KEY INPUTS_JSON

`digits`: INPUTS_JSON is a list of 64-pixel rows. The health and metadata calls, `infer` (tritonclient sends
raw_input_contents), the same rows as typed `fp32_contents` through tritonclient's own compiled stub, and a
wrong shape. `text`: INPUTS_JSON is a list of texts, each sent as a BYTES tensor raw and typed (`bytes_contents`).
Only tritonclient, grpc and numpy are imported: this file is the client side, unchanged.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import grpc
import numpy as np
import tritonclient.grpc as triton
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException


def typed(url: str, headers: dict[str, str], request: Any) -> triton.InferResult:
    """A request with typed contents through tritonclient's compiled stub (its `infer` always sends raw)."""
    with grpc.insecure_channel(url) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        return triton.InferResult(stub.ModelInfer(request, metadata=list(headers.items()), timeout=60))


def digits(client: triton.InferenceServerClient, url: str, headers: dict[str, str], rows: list) -> dict:
    pixels = np.asarray(rows, dtype=np.float32)
    tensor = triton.InferInput("pixels", list(pixels.shape), "FP32")
    tensor.set_data_from_numpy(pixels)
    raw = client.infer("digits", [tensor], headers=headers, client_timeout=60)

    request = service_pb2.ModelInferRequest(model_name="digits")
    typed_input = request.inputs.add(name="pixels", datatype="FP32", shape=list(pixels.shape))
    typed_input.contents.fp32_contents.extend(pixels.ravel().tolist())
    as_typed = typed(url, headers, request)

    wrong = triton.InferInput("pixels", [1, 3], "FP32")
    wrong.set_data_from_numpy(np.zeros((1, 3), dtype=np.float32))
    try:
        client.infer("digits", [wrong], headers=headers, client_timeout=60)
        refused = None
    except InferenceServerException as error:
        refused = {"status": error.status(), "message": error.message()}
    try:
        client.is_server_live()  # no key
        unkeyed = None
    except InferenceServerException as error:
        unkeyed = error.status()
    metadata = client.get_model_metadata("digits", headers=headers, as_json=True)
    return {
        "live": client.is_server_live(headers=headers),
        "ready": client.is_server_ready(headers=headers),
        "model_ready": client.is_model_ready("digits", headers=headers),
        "metadata_inputs": metadata["inputs"],
        "raw_labels": raw.as_numpy("label").tolist(),
        "raw_probability_sums": raw.as_numpy("probabilities").sum(axis=1).tolist(),
        "typed_labels": as_typed.as_numpy("label").tolist(),
        "wrong_shape": refused,
        "without_key": unkeyed,
    }


def text(client: triton.InferenceServerClient, url: str, headers: dict[str, str], texts: list) -> dict:
    """One text per request (the example's handler takes one), each sent raw and typed."""
    answers: dict[str, list] = {"raw_labels": [], "raw_scores": [], "typed_labels": [], "datatypes": []}
    for one in texts:
        values = np.array([one.encode()], dtype=np.object_)
        tensor = triton.InferInput("text", [1], "BYTES")
        tensor.set_data_from_numpy(values)
        raw = client.infer("text-classifier", [tensor], headers=headers, client_timeout=60)
        request = service_pb2.ModelInferRequest(model_name="text-classifier")
        typed_input = request.inputs.add(name="text", datatype="BYTES", shape=[1])
        typed_input.contents.bytes_contents.extend(values.tolist())
        as_typed = typed(url, headers, request)
        answers["raw_labels"] += [label.decode() for label in raw.as_numpy("label").tolist()]
        answers["raw_scores"] += raw.as_numpy("score").tolist()
        answers["typed_labels"] += [label.decode() for label in as_typed.as_numpy("label").tolist()]
        answers["datatypes"].append(raw.get_output("label").datatype)
    return answers


def refusal(call: Any) -> dict | None:
    try:
        call()
    except InferenceServerException as error:
        return {"status": error.status(), "message": error.message()}
    return None


def extensions(client: triton.InferenceServerClient, url: str, headers: dict[str, str], rows: list) -> dict:
    """Triton's extensions and wording: server metadata, model config and statistics (after `rows` were
    inferred), an unknown model, raw contents with typed ones beside them."""
    pixels = np.asarray(rows, dtype=np.float32)
    tensor = triton.InferInput("pixels", list(pixels.shape), "FP32")
    tensor.set_data_from_numpy(pixels)
    client.infer("digits", [tensor], headers=headers, client_timeout=60)
    both = service_pb2.ModelInferRequest(model_name="digits")
    both_input = both.inputs.add(name="pixels", datatype="FP32", shape=list(pixels.shape))
    both_input.contents.fp32_contents.extend(pixels.ravel().tolist())
    both.raw_input_contents.append(pixels.tobytes())
    try:
        typed(url, headers, both)
        contents_and_raw = None
    except grpc.RpcError as error:
        contents_and_raw = {"status": str(error.code()), "message": error.details()}
    return {
        "server_metadata": client.get_server_metadata(headers=headers, as_json=True),
        "config": client.get_model_config("digits", headers=headers, as_json=True),
        "statistics": client.get_inference_statistics("digits", headers=headers, as_json=True),
        "unknown_model": refusal(lambda: client.get_model_metadata("nope", headers=headers)),
        "unknown_model_infer": refusal(lambda: client.infer("nope", [tensor], headers=headers)),
        "contents_and_raw": contents_and_raw,
        "bad_version": refusal(
            lambda: client.infer("digits", [tensor], model_version="wrong_specification", headers=headers)
        ),
    }


def model_ready(client: triton.InferenceServerClient, url: str, headers: dict[str, str], names: list) -> dict:
    """What `is_model_ready(names[0])` answers now (the server may still be loading), or how it failed."""
    try:
        return {
            "model_ready": client.is_model_ready(names[0], headers=headers),
            "server_ready": client.is_server_ready(headers=headers),
        }
    except InferenceServerException as error:
        return {"error": error.status()}


def main() -> None:
    scenario, url, key, inputs_json = sys.argv[1:]
    headers = {"authorization": f"Bearer {key}"} if key else {}
    client = triton.InferenceServerClient(url)
    run = {"digits": digits, "text": text, "extensions": extensions, "model_ready": model_ready}[scenario]
    print(json.dumps(run(client, url, headers, json.loads(inputs_json))))


if __name__ == "__main__":
    main()
