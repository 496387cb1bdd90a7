"""BentoML serving the image example with its adaptive batching (run in .bench/venv-bentoml).

BENCH_MODEL_DIR=DIR BENCH_MAX_BATCH=64 \
    bentoml serve bentoml_app:ImageClassifier --host 127.0.0.1 --port 8092   (from bench/competitors)

One worker, one batchable API (BentoML's adaptive batching picks its own wait), as its docs write an image
classifier: each request is a multipart
upload of a PNG (field "image"); the batch's PNGs are decoded by the example's own `pixels`, then one
forward pass, then the top 3 names per image.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import bentoml
import numpy as np
import torch
from png_digits import PngDigits

MODEL_DIR = os.environ["BENCH_MODEL_DIR"]
MAX_BATCH = int(os.environ.get("BENCH_MAX_BATCH", "64"))


# No access log, as every other server in the bench runs without one.
@bentoml.service(workers=1, logging={"access": {"enabled": False}})
class ImageClassifier:
    def __init__(self) -> None:
        self.codec = PngDigits(MODEL_DIR)
        self.model = torch.jit.load(str(Path(MODEL_DIR) / "model.pt")).eval()

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH)
    def classify(self, image: list[Path]) -> list[dict[str, Any]]:
        batch = torch.from_numpy(np.stack([self.codec.pixels(path.read_bytes()) for path in image]))
        with torch.inference_mode():
            probabilities = torch.softmax(self.model(batch), dim=1).numpy()
        return self.codec.top(probabilities)
