"""A model served through its directory's handler: decode per request, one predict per batch, encode per request.

`decode` and `encode` run in the decode pool (LIFTOFF_DECODE_THREADS), `forward` in the batcher's inference
thread; none of them on the event loop. A handler that keeps the default decode or encode skips the pool
for it, so a pass-through handler costs next to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import torch

from service.handler import Handler, HandlerContext
from service.model.datatypes import NUMPY_DTYPES
from service.model.metadata import ModelMetadata
from service.model.outputs import as_numpy, in_declared_order, named_outputs
from service.model.served import ModelLoadError, ServedModel


class HandledModel:
    def __init__(self, handler: Handler, context: HandlerContext) -> None:
        self.handler = handler
        self.context = context
        self.metadata: ModelMetadata = context.metadata
        kind = type(handler)
        self.decodes = kind.decode is not Handler.decode
        """The handler has its own decode (run it in the pool); else the inputs pass straight through."""
        self.encodes = kind.encode is not Handler.encode
        self._output_names = [spec.name for spec in self.metadata.outputs]

    def decode(self, inputs: Mapping[str, np.ndarray], rows: int) -> list[np.ndarray]:
        """One request's inputs to the arrays the batcher stacks; each keeps the request's rows first."""
        arrays = [as_numpy(value) for value in self.handler.decode(inputs)]
        for index, array in enumerate(arrays):
            if array.ndim < 1 or array.shape[0] != rows:
                raise TypeError(
                    f"{type(self.handler).__name__}.decode returned a value #{index} of shape "
                    f"{list(array.shape)} for a request of {rows} row(s): keep the rows first"
                )
        return arrays

    def forward(self, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        device = self.context.device
        tensors = [
            array if array.dtype.kind == "O" else torch.from_numpy(array).to(device, non_blocking=True)
            for array in inputs
        ]
        with torch.inference_mode():
            raw = self.handler.predict(*cast(list[torch.Tensor], tensors))  # BYTES stay arrays
        return named_outputs(raw, self._output_names, numbered=self.encodes)

    def encode(self, outputs: Mapping[str, np.ndarray], rows: int) -> list[np.ndarray]:
        """One request's slice of predict's outputs to model.json's outputs, in its order and datatypes."""
        answer = self.handler.encode(outputs)
        arrays = []
        for spec, value in zip(
            self.metadata.outputs, in_declared_order(answer, self._output_names), strict=True
        ):
            array = _as_output(value, NUMPY_DTYPES[spec.datatype])
            if array.ndim != len(spec.shape) or array.shape[0] != rows:
                raise TypeError(
                    f"output {spec.name!r} has shape {list(array.shape)} for {rows} row(s), but model.json "
                    f"declares {list(spec.shape)}"
                )
            arrays.append(array)
        return arrays

    def warm_up(self, max_batch_size: int) -> None:
        """Numeric inputs passed straight through can be warmed up with zeros; a handler's own decode takes
        inputs only it knows, so its model warms up on its first requests."""
        if self.decodes or any(spec.datatype == "BYTES" for spec in self.metadata.inputs):
            return
        for rows in sorted({1, max_batch_size}):
            inputs = [
                np.zeros(
                    (rows, *(1 if dim == -1 else dim for dim in spec.row_shape)), NUMPY_DTYPES[spec.datatype]
                )
                for spec in self.metadata.inputs
            ]
            try:
                self.encode(self.forward(inputs), rows)
            except Exception as exc:
                raise ModelLoadError(f"the warm-up pass with {rows} row(s) failed: {exc}") from exc


def _as_output(value: Any, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "O":  # BYTES: strings or bytes, kept as Python objects
        array = np.asarray(value, dtype=object)
        flat = array.reshape(-1)
        for index, item in enumerate(flat):
            flat[index] = item.encode("utf-8") if isinstance(item, str) else bytes(item)
        return array
    return as_numpy(value).astype(dtype, copy=False)


LoadedModel = ServedModel | HandledModel
"""What the server serves: a model file alone, or a model directory through its handler."""
