"""Model directories with weights, written under out/ (inside the project, where liftoff:model must point)
for the stack tests: a local folder the stack uploads, or a URI."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BASE = ROOT / "out" / "test-weights"
MODEL = b"\x00weights\x01" * 3000
"""The model file's bytes; `dup.bin` holds the same, so the upload stores them once."""
CONFIG = b'{"hidden": 64}\n'
FILES = {"model.safetensors": MODEL, "extra/config.json": CONFIG, "dup.bin": MODEL}
PREBUILT = {"image": "registry.example.com/liftoff@sha256:" + "0" * 64}
"""For a URI's model: an image built elsewhere, so the plan neither builds nor runs the model check (which
would fetch the weights)."""
HANDLER = """import torch
from service.handler import Handler


class Fixed(Handler):
    \"\"\"A fixed nn.Linear: the stack tests need a directory that serves, not these weights' contents.\"\"\"

    def setup(self, context):
        super().setup(context)
        self.net = torch.nn.Linear(4, 2)
        torch.nn.init.constant_(self.net.weight, 0.5)
        torch.nn.init.zeros_(self.net.bias)

    def predict(self, x):
        return self.net(x)
"""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model_dir(name: str, weights: str, files: dict[str, bytes] | None = None) -> str:
    """A model directory named `name` whose model.json says `"weights": weights`; `files` under weights/.
    Returns the path relative to the project, as liftoff:model takes it."""
    folder = BASE / name
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "weights").mkdir(parents=True)
    (folder / "model.json").write_text(
        json.dumps(
            {
                "name": name,
                "version": "1",
                "weights": weights,
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
                "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
            }
        )
    )
    (folder / "handler.py").write_text(HANDLER)
    for path, data in (files or {}).items():
        (folder / "weights" / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / "weights" / path).write_bytes(data)
    return folder.relative_to(ROOT).as_posix()


def local_model(name: str = "big", files: dict[str, bytes] | None = None) -> str:
    return model_dir(name, "weights/", FILES if files is None else files)
