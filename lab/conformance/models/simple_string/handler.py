"""Triton's `simple_string` example model, built as a Liftoff user would: two BYTES tensors of 16 decimal
integers in, their element-wise sum and difference out, as decimal strings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from service.handler import Handler, HandlerContext, RequestError


def _integers(strings: np.ndarray, name: str) -> np.ndarray:
    try:
        return np.vectorize(lambda item: int(item.decode("utf-8")), otypes=[np.int32])(strings)
    except (ValueError, UnicodeDecodeError):
        raise RequestError(f"{name} must hold decimal integers") from None


def _strings(values: np.ndarray) -> np.ndarray:
    return np.vectorize(lambda value: str(int(value)).encode("utf-8"), otypes=[object])(values)


class StringSumAndDifference(Handler):
    def setup(self, context: HandlerContext) -> None:
        super().setup(context)

    def decode(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return [_integers(inputs["INPUT0"], "INPUT0"), _integers(inputs["INPUT1"], "INPUT1")]

    def predict(self, *pair: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        first, second = pair
        return first + second, first - second

    def encode(self, outputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
        return {name: _strings(values) for name, values in outputs.items()}
