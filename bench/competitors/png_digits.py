"""The image example's own preprocessing and labels, for the competitors that serve it in their own venvs.

`pixels` is imported from examples/image-classifier/handler.py itself (numpy, torch, Pillow and pydantic
only, all in each competitor's venv), so every server decodes a PNG with the very same code.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
TOP_K = 3


def _handler_module(directory: Path) -> ModuleType:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # the handler imports service.handler
    spec = importlib.util.spec_from_file_location("bench_image_handler", directory / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PngDigits:
    """decode (one PNG to 64 floats), then top-3 names with scores, as the example's handler does."""

    def __init__(self, directory: str) -> None:
        folder = Path(directory)
        self.pixels = _handler_module(folder).pixels
        self.labels = (folder / "labels.txt").read_text(encoding="utf-8").split()

    def top(self, probabilities: np.ndarray) -> list[dict[str, Any]]:
        best = np.argsort(-probabilities, axis=1)[:, :TOP_K]
        scores = np.take_along_axis(probabilities, best, axis=1)
        return [
            {"classes": [self.labels[i] for i in row], "scores": score.tolist()}
            for row, score in zip(best, scores, strict=True)
        ]
