"""The request bodies of the benchmark, written once to files that the wrk script reads."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from bench.competitors.codec import IMAGE_SHAPE
from service.model.examples import DIGIT_ZERO


def image_bytes(seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size=IMAGE_SHAPE, dtype=np.uint8).tobytes()


def digits_json() -> bytes:
    request = {
        "inputs": [
            {"name": "pixels", "shape": [1, 64], "datatype": "FP32", "data": [float(v) for v in DIGIT_ZERO]}
        ]
    }
    return json.dumps(request).encode()


def image_json() -> bytes:
    """~200 KB: the image as base64 inside JSON, the way a browser or curl client sends it."""
    return json.dumps({"instances": [{"b64": base64.b64encode(image_bytes()).decode()}]}).encode()


def binary_request(
    input_name: str, datatype: str, shape: list[int], raw: bytes, output_names: list[str]
) -> tuple[bytes, int]:
    """An Open Inference Protocol request with the binary tensor extension, as Triton's client sends it:
    a JSON header, then the raw tensor bytes; returns (body, header length)."""
    header = {
        "inputs": [
            {
                "name": input_name,
                "shape": shape,
                "datatype": datatype,
                "parameters": {"binary_data_size": len(raw)},
            }
        ],
        "outputs": [{"name": name, "parameters": {"binary_data": True}} for name in output_names],
    }
    head = json.dumps(header).encode()
    return head + raw, len(head)


def image_binary() -> tuple[bytes, int]:
    return binary_request("image", "UINT8", [1, *IMAGE_SHAPE], image_bytes(), ["logits"])


def write(folder: Path, name: str, body: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(body)
    return path


MULTIPART_BOUNDARY = "liftoff-bench-boundary"


def multipart_file(field: str, filename: str, content_type: str, data: bytes) -> bytes:
    """One file upload as multipart/form-data (boundary MULTIPART_BOUNDARY), as `curl -F` sends it."""
    head = (
        f"--{MULTIPART_BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{MULTIPART_BOUNDARY}--\r\n".encode()
