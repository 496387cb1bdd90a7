"""What a model directory's `handler.py` subclasses: your Python around your model, Liftoff's batcher between.

    from service.handler import Handler, RequestError

    class Classifier(Handler):
        def setup(self, context):              # once, in the lifespan, before readiness
            super().setup(context)
            self.labels = (context.directory / "labels.txt").read_text().split()
        def decode(self, inputs):               # per request, in a thread of the decode pool
            return [to_pixels(inputs["image"][0])]          # arrays or tensors, rows first
        def predict(self, pixels):             # per batch, in the inference thread; requests of the
            return self.context.module(pixels)  # same shapes share one pass
        def encode(self, outputs):              # per request, its own rows of predict's outputs
            return {"label": [self.labels[int(i)] for i in outputs["output0"].argmax(1)]}

Every method has a default, so a directory with only a model file works as a tensor-in, tensor-out model:
`decode` passes the request's inputs through in model.json's order, `predict` calls the model file's module,
`encode` returns predict's outputs under model.json's output names. A handler of a directory without a model
file (one that loads weights itself) must define `setup` and `predict`.

Raise `RequestError` to refuse a request: the client gets its status (400 unless said) and message. Any
other exception is a 500 with a request id and a generic message; the traceback goes to the server log only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from service.model.metadata import ModelMetadata


class RequestError(Exception):
    """A request the handler refuses; `message` goes to the client as is, so say what to send instead."""

    def __init__(self, message: str, status: int = 400) -> None:
        if not 400 <= status < 500:
            raise ValueError(f"RequestError status must be a 4xx, got {status}")
        super().__init__(message)
        self.message = message
        self.status = status


_SAME_AS_DIRECTORY = Path("\0same-as-directory")


@dataclass(frozen=True)
class HandlerContext:
    directory: Path
    """The model directory: read labels, vocabularies and weights from here."""
    metadata: ModelMetadata
    device: torch.device
    """Where the forward pass runs (LIFTOFF_DEVICE); move what `setup` loads here."""
    dtype: torch.dtype
    """LIFTOFF_DTYPE, for floating-point weights and inputs."""
    module: torch.nn.Module | None
    """The directory's model file (.pt TorchScript or .pt2 torch.export), loaded on `device`; None without one,
    or when `model.pt` is a `torch.save` file, which only the handler's own class can load."""
    weights_dir: Path = field(default_factory=lambda: _SAME_AS_DIRECTORY)
    """Where the model's weights are on local disk: the folder fetched for model.json's `weights` URI, the
    local folder it names, or else `directory` (the default)."""

    def __post_init__(self) -> None:
        if self.weights_dir is _SAME_AS_DIRECTORY:
            object.__setattr__(self, "weights_dir", self.directory)


class Handler:
    context: HandlerContext

    def setup(self, context: HandlerContext) -> None:
        """Load what the model needs. Readiness waits for it; an exception here fails the model's check,
        and in the server ends the process with the reason (docs/your-model.md)."""
        self.context = context

    def decode(self, inputs: Mapping[str, np.ndarray]) -> Sequence[np.ndarray | torch.Tensor]:
        """One request's inputs (by model.json name, rows first; BYTES as arrays of `bytes`) to the tensors
        `predict` takes, each with the request's rows first."""
        return [inputs[spec.name] for spec in self.context.metadata.inputs]

    def predict(self, *batch: torch.Tensor) -> Any:
        """One forward pass over several requests' rows: a tensor, a tuple of them, or a dict of them."""
        if self.context.module is None:
            raise NotImplementedError("a handler without a model file must define predict")
        return self.context.module(*batch)

    def encode(self, outputs: Mapping[str, np.ndarray]) -> Mapping[str, Any]:
        """One request's rows of predict's outputs to its answer: model.json's outputs by name, rows first.
        predict's dict keeps its keys; a tensor or tuple takes model.json's output names when the counts
        match, else the names output0, output1, ..."""
        return outputs
