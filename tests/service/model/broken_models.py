"""Model directories broken the ways a new user breaks them, each with the words its refusal must hold.

The same set is refused by the model check in-process (test_model_check.py), by `python -m service check`,
by the plan before anything is built (tests/infra/test_model_setting.py) and, for the image, by the build's
last step (tests/image/test_dockerfile.py proves the step runs the same command).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

LINEAR = {
    "name": "broken",
    "version": "1",
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
    "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
}

TEXT = {
    "name": "broken",
    "inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
    "outputs": [
        {"name": "label", "datatype": "BYTES", "shape": [-1]},
        {"name": "scores", "datatype": "FP32", "shape": [-1, 3]},
    ],
    "sample": {"text": "hello"},
}

TEXT_HANDLER = """
import numpy as np
import torch
from service.handler import Handler


class Text(Handler):
    def setup(self, context):
        super().setup(context)

    def decode(self, inputs):
        return [np.array([[float(len(t))] for t in inputs["text"]], dtype=np.float32)]

    def predict(self, lengths):
        return lengths.repeat(1, 5)

    def encode(self, outputs):
{encode}
"""


def _directory(root: Path, metadata: dict, handler: str | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "model.json").write_text(json.dumps(metadata))
    if handler is not None:
        (root / "handler.py").write_text(handler)
    return root


def _script(root: Path, module: nn.Module) -> None:
    torch.jit.save(torch.jit.script(module), str(root / "model.pt"))


def handler_syntax_error(root: Path) -> Path:
    return _directory(root, LINEAR, "from service.handler import Handler\nclass H(Handler)\n    pass\n")


def datatype_float32(root: Path) -> Path:
    metadata = {**LINEAR, "inputs": [{"name": "x", "datatype": "FLOAT32", "shape": [-1, 3]}]}
    _script(_directory(root, metadata), nn.Linear(3, 2))
    return root


def state_dict_as_model_pt(root: Path) -> Path:
    _directory(root, LINEAR)
    torch.save(nn.Linear(3, 2).state_dict(), root / "model.pt")
    return root


def shape_the_model_cannot_take(root: Path) -> Path:
    metadata = {**LINEAR, "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}]}
    _script(_directory(root, metadata), nn.Linear(3, 2))
    return root


def export_without_dynamic_batch(root: Path) -> Path:
    _directory(root, LINEAR, "from service.handler import Handler\n\nclass Passes(Handler):\n    pass\n")
    program = torch.export.export(nn.Linear(3, 2), (torch.zeros(2, 3),))
    torch.export.save(program, str(root / "model.pt2"))
    return root


def encode_drops_an_output(root: Path) -> Path:
    encode = '        return {"label": ["x"] * len(outputs["output0"])}'
    return _directory(root, TEXT, TEXT_HANDLER.replace("{encode}", encode))


def encode_gives_top_2_of_3(root: Path) -> Path:
    encode = '        o = outputs["output0"]\n        return {"label": ["x"] * len(o), "scores": o[:, :2]}'
    return _directory(root, TEXT, TEXT_HANDLER.replace("{encode}", encode))


def encode_gives_floats_for_int64(root: Path) -> Path:
    metadata = {
        **TEXT,
        "outputs": [TEXT["outputs"][0], {"name": "scores", "datatype": "INT64", "shape": [-1, 3]}],
    }
    encode = (
        '        o = outputs["output0"]\n        return {"label": ["x"] * len(o), "scores": o[:, :3] + 0.5}'
    )
    return _directory(root, metadata, TEXT_HANDLER.replace("{encode}", encode))


def bytes_without_a_sample(root: Path) -> Path:
    metadata = {key: value for key, value in TEXT.items() if key != "sample"}
    encode = '        o = outputs["output0"]\n        return {"label": ["x"] * len(o), "scores": o[:, :3]}'
    return _directory(root, metadata, TEXT_HANDLER.replace("{encode}", encode))


def unlisted_import(root: Path) -> Path:
    handler = (
        "import liftoff_no_such_package\nfrom service.handler import Handler\n\nclass H(Handler):\n    pass\n"
    )
    _script(_directory(root, LINEAR, handler), nn.Linear(3, 2))
    return root


def setup_raises(root: Path) -> Path:
    handler = (
        "from service.handler import Handler\n\nclass H(Handler):\n"
        "    def setup(self, context):\n        raise FileNotFoundError('labels.txt')\n"
    )
    _script(_directory(root, LINEAR, handler), nn.Linear(3, 2))
    return root


def weights_outside_the_directory(root: Path) -> Path:
    _script(_directory(root, {**LINEAR, "weights": "../elsewhere"}), nn.Linear(3, 2))
    return root


BROKEN: dict[str, tuple[Callable[[Path], Path], str]] = {
    "handler_syntax_error": (handler_syntax_error, "handler.py line 2: SyntaxError"),
    "datatype_float32": (datatype_float32, "inputs.0.datatype: Input should be 'BOOL'"),
    "state_dict_as_model_pt": (state_dict_as_model_pt, "model.pt is a torch.save file"),
    "shape_the_model_cannot_take": (shape_the_model_cannot_take, "the check failed in predict with 1 row(s)"),
    "export_without_dynamic_batch": (export_without_dynamic_batch, "export the model with a dynamic batch"),
    "encode_drops_an_output": (encode_drops_an_output, "['scores'] missing"),
    "encode_gives_top_2_of_3": (
        encode_gives_top_2_of_3,
        "'scores' has shape [1, 2] for 1 row(s), but model.json declares [-1, 3]",
    ),
    "encode_gives_floats_for_int64": (
        encode_gives_floats_for_int64,
        "'scores' is declared INT64 but holds a floating-point",
    ),
    "bytes_without_a_sample": (bytes_without_a_sample, "so the check needs a sample of it"),
    "unlisted_import": (unlisted_import, "No module named 'liftoff_no_such_package'"),
    "setup_raises": (setup_raises, "H.setup failed: FileNotFoundError: labels.txt"),
    "weights_outside_the_directory": (
        weights_outside_the_directory,
        "must be a folder inside the model directory",
    ),
}
