"""Triton's `simple_int8` example model, built as a Liftoff user would: the element-wise sum and difference of
two tensors of 16 INT8s (wrapping as Triton's does), the answers Triton's example clients check."""

from __future__ import annotations

import torch

from service.handler import Handler, HandlerContext


class SumAndDifference(Handler):
    def setup(self, context: HandlerContext) -> None:
        super().setup(context)

    def predict(self, *pair: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        first, second = pair
        return first + second, first - second
