"""Run by the kserve tool environment (.venv-kserve), never by the project's: calls a server as a KServe user
would, with KServe's own Python SDK, and prints what came back as one JSON object.

    python kserve_calls.py SCENARIO HTTP_URL GRPC_ADDRESS MODEL INPUTS_JSON

`rest`: v1 liveness and readiness, `:predict` with `instances` and with `inputs`, v2 liveness and infer.
`grpc`: liveness, model readiness and infer over gRPC. `grpc_ready`: only what gRPC model readiness answers
(the server may still be loading). Only kserve and numpy are imported: this file is the client side.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import numpy as np
from kserve import InferenceGRPCClient, InferenceRESTClient, InferInput, InferRequest, RESTConfig


def request(model: str, rows: list) -> InferRequest:
    pixels = np.asarray(rows, dtype=np.float32)
    tensor = InferInput("pixels", list(pixels.shape), "FP32")
    tensor.set_data_from_numpy(pixels, binary_data=False)
    return InferRequest(model_name=model, infer_inputs=[tensor])


def labels(response: Any) -> list[int]:
    (label,) = [output for output in response.outputs if output.name == "label"]
    return [int(value) for value in label.as_numpy().ravel()]


async def rest(url: str, _: str, model: str, rows: list) -> dict:
    v1 = InferenceRESTClient(RESTConfig(protocol="v1"))
    v2 = InferenceRESTClient(RESTConfig(protocol="v2"))
    try:
        instances = await v1.infer(url, {"instances": rows}, model_name=model)
        inputs = await v1.infer(url, {"inputs": rows}, model_name=model)
        v2_answer = await v2.infer(url, request(model, rows), model_name=model)
        return {
            "v1_live": await v1.is_server_live(url),
            "v1_model_ready": await v1.is_model_ready(url, model),
            "v1_instances_labels": [p["label"] for p in instances["predictions"]],
            "v1_inputs_labels": [p["label"] for p in inputs["predictions"]],
            "v2_live": await v2.is_server_live(url),
            "v2_model_ready": await v2.is_model_ready(url, model),
            "v2_labels": labels(v2_answer),
        }
    finally:
        await v1.close()
        await v2.close()


async def grpc(_: str, address: str, model: str, rows: list) -> dict:
    async with InferenceGRPCClient(address) as client:
        answer = await client.infer(request(model, rows))
        return {
            "live": await client.is_server_live(),
            "ready": await client.is_server_ready(),
            "model_ready": await client.is_model_ready(model),
            "labels": labels(answer),
        }


async def grpc_ready(_: str, address: str, model: str, __: list) -> dict:
    async with InferenceGRPCClient(address) as client:
        try:
            return {"model_ready": await client.is_model_ready(model)}
        except Exception as error:  # what the SDK raised, for the test to show
            return {"error": type(error).__name__}


def main() -> None:
    scenario, url, address, model, inputs_json = sys.argv[1:]
    run = {"rest": rest, "grpc": grpc, "grpc_ready": grpc_ready}[scenario]
    print(json.dumps(asyncio.run(run(url, address, model, json.loads(inputs_json)))))


if __name__ == "__main__":
    main()
