"""PNG or JPEG in, the top 3 digit names with their scores out.

decode: Pillow opens the file, makes it 8x8 grey and scales it the way the training data was (train.py uses
the same `pixels` function, so serving and training cannot drift apart). predict: the TorchScript MLP in
model.pt over the batch, then softmax. encode: the top 3 class names from labels.txt.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from service.handler import Handler, HandlerContext, RequestError

SIDE = 8
TOP_K = 3


def pixels(data: bytes) -> np.ndarray:
    """An image file as 64 floats in 0..1, dark ink on light paper or the other way round."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            grey = image.convert("L").resize((SIDE, SIDE), Image.Resampling.BOX)
    except (UnidentifiedImageError, OSError, ValueError):
        raise RequestError("the body is not a PNG or JPEG image Pillow can read") from None
    values = np.asarray(grey, dtype=np.float32).reshape(-1) / 255.0
    if values.mean() > 0.5:  # light background: make the ink the bright part, as in the training data
        values = 1.0 - values
    return values


class ImageClassifier(Handler):
    def setup(self, context: HandlerContext) -> None:
        super().setup(context)
        self.labels = (context.directory / "labels.txt").read_text(encoding="utf-8").split()

    def decode(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return [np.stack([pixels(data) for data in inputs["image"]])]

    def predict(self, batch: torch.Tensor) -> torch.Tensor:
        assert self.context.module is not None
        return torch.softmax(self.context.module(batch), dim=1)

    def encode(self, outputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
        probabilities = outputs["output0"]
        top = np.argsort(-probabilities, axis=1)[:, :TOP_K]
        return {
            "classes": [[self.labels[i] for i in row] for row in top],
            "scores": np.take_along_axis(probabilities, top, axis=1),
        }
