"""The request and response bodies every server in the benchmark speaks, so all of them do the same work.

Self-contained (numpy and the standard library only): the competitors import it inside their own
environments, and TorchServe ships it inside its model archive.

- digits: an Open Inference Protocol v2 JSON request (`inputs[0].data`, rows of 64 floats), answered with
  the v2 JSON response (`probabilities` and `label`).
- resnet18: `{"instances": [{"b64": <base64 of uint8 3x224x224>}]}`, answered with `{"predictions": [...]}`.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

IMAGE_SHAPE = (3, 224, 224)


def decode_rows(model_name: str, body: dict[str, Any]) -> np.ndarray:
    """The request's rows as one array: FP32 `[n, 64]` for digits, UINT8 `[n, 3, 224, 224]` for images."""
    if model_name == "digits":
        tensor = body["inputs"][0]
        return np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    images = [np.frombuffer(base64.b64decode(item["b64"]), dtype=np.uint8) for item in body["instances"]]
    return np.stack(images).reshape(len(images), *IMAGE_SHAPE)


def encode_rows(model_name: str, outputs: tuple[np.ndarray, ...]) -> dict[str, Any]:
    """The answer for one request's rows (`outputs` holds only that request's rows)."""
    if model_name == "digits":
        probabilities, label = outputs
        return {
            "model_name": model_name,
            "outputs": [
                {
                    "name": "probabilities",
                    "datatype": "FP32",
                    "shape": list(probabilities.shape),
                    "data": probabilities.ravel().tolist(),
                },
                {"name": "label", "datatype": "INT64", "shape": list(label.shape), "data": label.tolist()},
            ],
        }
    return {"predictions": outputs[0].tolist()}
