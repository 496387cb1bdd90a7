"""TorchServe handler for the same TorchScript model and bodies; packed into a .mar by torch-model-archiver
together with codec.py. TorchServe hands it a list of requests (its batch); it answers one body each."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import torch
from codec import decode_rows, encode_rows

_model: torch.jit.ScriptModule | None = None
_name = ""


def _body(request: dict[str, Any]) -> dict[str, Any]:
    raw = request.get("body", request.get("data"))
    if isinstance(raw, bytes | bytearray):
        raw = json.loads(raw)
    assert isinstance(raw, dict), "the benchmark sends JSON objects"
    return raw


def handle(data: list[dict[str, Any]] | None, context: Any) -> list[str] | None:
    global _model, _name
    if _model is None:
        props = context.system_properties
        _name = context.manifest["model"]["modelName"]
        path = os.path.join(props["model_dir"], context.manifest["model"]["serializedFile"])
        _model = torch.jit.load(path).eval()
    if data is None:
        return None
    rows = [decode_rows(_name, _body(request)) for request in data]
    with torch.inference_mode():
        out = _model(torch.from_numpy(np.concatenate(rows)))
    outputs = tuple(t.numpy() for t in (out if isinstance(out, tuple) else (out,)))
    answers, start = [], 0
    for request_rows in rows:
        end = start + len(request_rows)
        answers.append(json.dumps(encode_rows(_name, tuple(t[start:end] for t in outputs))))
        start = end
    return answers
