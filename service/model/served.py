"""A model directory loaded to serve: its handler around the model file, callable with numpy batches.

`ServedModel.forward` blocks; the batcher calls it from its one inference thread, never the event loop.
`decode` and `encode` run in the decode pool (LIFTOFF_DECODE_THREADS) when the handler defines them.
"""

from __future__ import annotations

import logging
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from service.handler import Handler, HandlerContext
from service.model.cpu_precision import runs_natively_on_cpu
from service.model.datatypes import ACCEPTED_KINDS, NUMPY_DTYPES
from service.model.metadata import ModelMetadata, TensorSpec, load_metadata
from service.model.optimize import optimize, wants_channels_last
from service.model.outputs import as_numpy, in_declared_order, named_outputs

log = logging.getLogger(__name__)

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class ModelLoadError(RuntimeError):
    """The model cannot be served as configured; the message says why."""


def pick_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("LIFTOFF_DEVICE=cuda but torch sees no CUDA device")
    return torch.device(requested)


def log_emulated_precision(dtype: str, target: torch.device) -> None:
    """Say when the CPU has no hardware for the configured half precision: the model still serves, an order
    of magnitude slower than in float32 (service/model/cpu_precision.py has the figure)."""
    if target.type == "cpu" and not runs_natively_on_cpu(TORCH_DTYPES[dtype]):
        log.warning(
            "LIFTOFF_DTYPE=%s: this CPU has no native %s (oneDNN emulates it, many times slower than "
            "float32); set LIFTOFF_DTYPE=float32 here, or serve on a GPU",
            dtype,
            dtype,
        )


def log_cpu_fallback(requested: str, target: torch.device) -> None:
    """Say when `auto` found no GPU: on a GPU node that means a missing driver or device plugin, and a CUDA
    image serving on the CPU is otherwise only visible as slow answers."""
    if requested != "auto" or target.type != "cpu":
        return
    if torch.version.cuda:
        log.warning(
            "LIFTOFF_DEVICE=auto: torch %s (CUDA %s) sees no CUDA device, serving on the CPU",
            torch.__version__,
            torch.version.cuda,
        )
    else:
        log.info("LIFTOFF_DEVICE=auto: torch %s is a CPU build, serving on the CPU", torch.__version__)


class ServedModel:
    """One loaded model directory: its handler (the default `Handler` when it has none) between Liftoff's
    batcher and the client. `decode` and `encode` run per request, `forward` per batch.

    A handler that keeps the default decode or encode skips the decode pool for it (`decodes`, `encodes`),
    so a directory without a handler costs what a bare model file did. When the handler keeps the default
    `predict`, Liftoff runs the module itself: in LIFTOFF_DTYPE (`compute_dtype`), floating inputs cast to it
    unless model.json declares them FP64, which keep their precision.
    """

    def __init__(
        self,
        handler: Handler,
        context: HandlerContext,
        compute_dtype: torch.dtype | None = None,
        channels_last: bool = False,
    ) -> None:
        self.handler = handler
        self.context = context
        self.metadata: ModelMetadata = context.metadata
        self.device = context.device
        self.channels_last = channels_last
        self.dtype = compute_dtype if compute_dtype is not None else context.dtype
        """What the forward pass runs floating inputs in: LIFTOFF_DTYPE."""
        kind = type(handler)
        self.decodes = kind.decode is not Handler.decode
        """The handler has its own decode (run it in the pool); else the inputs pass straight through."""
        self.encodes = kind.encode is not Handler.encode
        self._predict = handler.predict
        self._casts = [
            compute_dtype if compute_dtype is not None and spec.datatype in CAST_DATATYPES else None
            for spec in self.metadata.inputs
        ]
        self._output_names = [spec.name for spec in self.metadata.outputs]
        self._output_numpy = [NUMPY_DTYPES[spec.datatype] for spec in self.metadata.outputs]
        self.checked = ""
        """What the model check ran through it (service/model/check.py), once it passed."""

    @property
    def module(self) -> torch.nn.Module | None:
        return self.context.module

    def decode(self, inputs: Sequence[np.ndarray], rows: int) -> list[np.ndarray]:
        """One request's inputs (model.json's order, rows first) to the arrays the batcher stacks."""
        if not self.decodes:
            return list(inputs)
        by_name = {spec.name: array for spec, array in zip(self.metadata.inputs, inputs, strict=True)}
        arrays = [as_numpy(value) for value in self.handler.decode(by_name)]
        for index, array in enumerate(arrays):
            if array.ndim < 1 or array.shape[0] != rows:
                raise TypeError(
                    f"{type(self.handler).__name__}.decode returned a value #{index} of shape "
                    f"{list(array.shape)} for a request of {rows} row(s): keep the rows first"
                )
        return arrays

    def forward(self, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Run one batch: decoded arrays, each `[rows, ...]`; predict's outputs by name, rows first."""
        tensors: list[Any] = []
        for index, array in enumerate(inputs):
            if array.dtype.kind == "O":  # BYTES stay arrays, for the handler
                tensors.append(array)
                continue
            tensor = torch.from_numpy(array).to(self.device, non_blocking=True)
            cast = self._casts[index] if index < len(self._casts) else None
            if cast is not None and tensor.is_floating_point():
                tensor = tensor.to(cast)
            if self.channels_last and tensor.dim() == 4:
                tensor = tensor.contiguous(memory_format=torch.channels_last)
            tensors.append(tensor)
        with torch.inference_mode():
            raw = self._predict(*tensors)
        if isinstance(raw, torch.Tensor) and len(self._output_names) == 1:  # the common case, short
            return {self._output_names[0]: as_numpy(raw)}
        return named_outputs(raw, self._output_names, numbered=self.encodes)

    def encode(self, outputs: Mapping[str, np.ndarray], rows: int, strict: bool = False) -> list[np.ndarray]:
        """One request's slice of predict's outputs to model.json's outputs, in its order and datatypes.
        `strict` (the check): a value whose kind the datatype would silently change (a float as INT64, a
        number as BYTES) is refused rather than converted."""
        answer = self.handler.encode(outputs) if self.encodes else outputs
        arrays = []
        for spec, value, dtype in zip(
            self.metadata.outputs,
            in_declared_order(answer, self._output_names),
            self._output_numpy,
            strict=True,
        ):
            if strict:
                check_kind(spec, value)
            array = as_output(value, dtype)
            if (
                array.ndim != len(spec.shape)
                or array.shape[0] != rows
                or any(
                    want not in (-1, got) for got, want in zip(array.shape[1:], spec.row_shape, strict=True)
                )
            ):
                raise TypeError(
                    f"output {spec.name!r} has shape {list(array.shape)} for {rows} row(s), but model.json "
                    f"declares {list(spec.shape)}"
                )
            arrays.append(array)
        return arrays

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One request through decode, predict and encode, without a batcher: for tools and tests that
        call the model directly."""
        rows = int(inputs[0].shape[0])
        return self.encode(self.forward(self.decode(inputs, rows)), rows)

    def warm_up(self, max_batch_size: int) -> str:
        """The model check (service/model/check.py) on this model; what it ran, for the log."""
        from service.model.check import check_model  # the check builds on this module

        self.checked = check_model(self, max_batch_size)
        return self.checked


CAST_DATATYPES = frozenset({"FP16", "FP32"})
"""Floating inputs that run in LIFTOFF_DTYPE; FP64 is declared on purpose and keeps its precision."""

_KINDS = {"b": "a boolean", "i": "an integer", "u": "an unsigned integer", "f": "a floating-point number"}


def check_kind(spec: TensorSpec, value: Any) -> None:
    """The check's stricter eye: an output whose values the declared datatype would change in kind."""
    if spec.datatype == "BYTES":
        flat = np.asarray(value, dtype=object).reshape(-1)
        if any(not isinstance(item, str | bytes) for item in flat):
            raise TypeError(
                f"output {spec.name!r} is declared BYTES but holds values that are not str or bytes"
            )
        return
    kind: str = as_numpy(value).dtype.kind
    allowed = ACCEPTED_KINDS[spec.datatype].replace("USO", "")
    if kind == "b" and spec.datatype != "BOOL":
        allowed = ""
    if kind not in allowed:
        raise TypeError(
            f"output {spec.name!r} is declared {spec.datatype} but holds {_KINDS.get(kind, 'non-numeric')} "
            f"values (numpy {as_numpy(value).dtype}): declare the datatype it returns, or convert it in encode"
        )


def as_output(value: Any, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "O":  # BYTES: strings or bytes, kept as Python objects
        array = np.asarray(value, dtype=object)
        flat = array.reshape(-1)
        for index, item in enumerate(flat):
            flat[index] = item.encode("utf-8") if isinstance(item, str) else bytes(item)
        return array
    return as_numpy(value).astype(dtype, copy=False)


SAVE_HINT = "load it in handler.py, or save the model with torch.jit.script / torch.export"


def is_torch_save(path: Path) -> bool:
    """A `torch.save` file (a state_dict or a pickled module): a pickle, or a zip with no TorchScript code."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
            return any(name.endswith("/data.pkl") for name in names) and not any(
                "/code/" in name or name.endswith("/constants.pkl") for name in names
            )
        with path.open("rb") as file:
            return file.read(1) == b"\x80"  # the pickle protocol opcode
    except OSError:
        return False


def load_module(model_path: Path, target: torch.device) -> torch.nn.Module:
    """The model file on its device, or a ModelLoadError that says what the file is and what to do."""
    exported = model_path.suffix == ".pt2"
    try:
        with warnings.catch_warnings():
            # torch 2.10+ marks TorchScript deprecated; it still loads, and it is a format we promise.
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*torch.jit")
            if exported:
                return torch.export.load(str(model_path)).module().to(target)
            module: torch.nn.Module = torch.jit.load(str(model_path), map_location=target)
            return module
    except Exception as exc:  # torch raises many kinds for a file it cannot read
        if not exported and is_torch_save(model_path):
            raise ModelLoadError(
                f"{model_path.name} is a torch.save file (a state_dict or a pickled module), which needs "
                f"your model's Python class to load: {SAVE_HINT}"
            ) from exc
        kind = "exported program (torch.export)" if exported else "TorchScript file"
        raise ModelLoadError(f"{model_path} is not a loadable {kind}: {exc}") from exc


def load_model(
    model_path: Path, device: str, dtype: str, metadata: ModelMetadata | None = None
) -> ServedModel:
    """A model file served through the default Handler; `metadata` is read from beside the file unless
    given (model.json). Not warmed up: service.model.check runs the sample through it."""
    metadata = metadata if metadata is not None else load_metadata(model_path)
    target = pick_device(device)
    module, metadata, compute_dtype, channels_last = prepare_module(model_path, target, dtype, metadata)
    context = HandlerContext(model_path.parent, metadata, target, TORCH_DTYPES[dtype], module)
    handler = Handler()
    handler.setup(context)
    return ServedModel(handler, context, compute_dtype, channels_last)


def prepare_module(
    model_path: Path, target: torch.device, dtype: str, metadata: ModelMetadata
) -> tuple[torch.nn.Module, ModelMetadata, torch.dtype, bool]:
    """The model file loaded to run as Liftoff's own forward pass: in eval mode, in LIFTOFF_DTYPE,
    optimized for the device; the metadata gains the file's platform unless it names one."""
    exported = model_path.suffix == ".pt2"
    module = load_module(model_path, target)
    if metadata.platform is None:
        metadata = metadata.model_copy(
            update={"platform": "pytorch_export" if exported else "pytorch_torchscript"}
        )
    if not exported:  # an exported program keeps the mode it was exported in (and refuses eval())
        module.eval()
    torch_dtype = TORCH_DTYPES[dtype]
    log_emulated_precision(dtype, target)
    if torch_dtype != torch.float32:
        module = module.to(torch_dtype)
    channels_last = False
    if isinstance(module, torch.jit.ScriptModule):  # exported programs are served as exported
        images = any(len(spec.shape) == 4 for spec in metadata.inputs)
        channels_last = wants_channels_last(target, torch_dtype, images)
        module = optimize(module, target, torch_dtype, channels_last)
    log.info(
        "loaded model %r version %s from %s on %s in %s",
        metadata.name,
        metadata.version,
        model_path,
        target,
        dtype,
    )
    return module, metadata, torch_dtype, channels_last
