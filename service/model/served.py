"""A TorchScript (or torch.export) model on its device, in its dtype, callable with numpy batches.

`ServedModel.forward` blocks; the batcher calls it from its one inference thread, never the event loop.
"""

from __future__ import annotations

import logging
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from service.model.cpu_precision import runs_natively_on_cpu
from service.model.datatypes import NUMPY_DTYPES, is_floating
from service.model.metadata import ModelMetadata, load_metadata
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
    """One loaded model. Floating inputs run in the configured dtype; outputs leave as the metadata says."""

    def __init__(
        self,
        module: torch.nn.Module,
        metadata: ModelMetadata,
        device: torch.device,
        dtype: torch.dtype,
        channels_last: bool = False,
    ) -> None:
        self.module = module
        self.channels_last = channels_last
        self.metadata = metadata
        self.device = device
        self.dtype = dtype
        self._output_numpy = [NUMPY_DTYPES[spec.datatype] for spec in metadata.outputs]
        self._output_names = [spec.name for spec in metadata.outputs]

    def forward(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Run one batch: `inputs` in metadata order, each `[rows, *row_shape]`; outputs likewise."""
        tensors = []
        for spec, array in zip(self.metadata.inputs, inputs, strict=True):
            tensor = torch.from_numpy(array).to(self.device, non_blocking=True)
            if is_floating(spec.datatype):
                tensor = tensor.to(self.dtype)
            if self.channels_last and tensor.dim() == 4:
                tensor = tensor.contiguous(memory_format=torch.channels_last)
            tensors.append(tensor)
        with torch.inference_mode():
            raw = self.module(*tensors)
        if isinstance(raw, torch.Tensor):  # the common case, without the general path's dict
            outputs = [as_numpy(raw)]
            if len(self._output_names) != 1:
                raise ValueError(
                    f"the forward pass returned 1 value but model.json declares {len(self._output_names)} outputs"
                )
        else:
            outputs = in_declared_order(named_outputs(raw, self._output_names), self._output_names)
        return [
            array.astype(np_dtype, copy=False)
            for array, np_dtype in zip(outputs, self._output_numpy, strict=True)
        ]

    def warm_up(self, max_batch_size: int) -> None:
        """Run the batch sizes traffic will bring first, and check the outputs match the metadata. A variable
        dimension is tried at two lengths, so a model that cannot take one fails here, not on a request."""
        variable = any(spec.variable for spec in self.metadata.inputs)
        for rows, length in sorted({(1, 1), (max_batch_size, 1), *([(1, 2)] if variable else [])}):
            inputs = [
                np.zeros(
                    (rows, *(length if dim == -1 else dim for dim in spec.row_shape)),
                    dtype=NUMPY_DTYPES[spec.datatype],
                )
                for spec in self.metadata.inputs
            ]
            try:
                outputs = self.forward(inputs)
            except Exception as exc:
                hint = (
                    " (export it with a dynamic batch dimension)"
                    if self.metadata.platform == "pytorch_export"
                    else ""
                )
                if variable:
                    hint = (
                        f" at variable length {length} (model.json declares a variable dimension, -1: "
                        "if the model takes one size only, declare that size)"
                    )
                raise ModelLoadError(
                    f"the warm-up forward pass with {rows} row(s) failed{hint}: {exc}"
                ) from exc
            for spec, array in zip(self.metadata.outputs, outputs, strict=True):
                if (
                    array.shape[0] != rows
                    or len(array.shape) != len(spec.shape)
                    or any(
                        want not in (-1, got)
                        for got, want in zip(array.shape[1:], spec.row_shape, strict=True)
                    )
                ):
                    raise ModelLoadError(
                        f"output {spec.name!r} has shape {list(array.shape)} for {rows} row(s), "
                        f"but the metadata declares {list(spec.shape)}"
                    )


SAVE_HINT = "load it in handler.py, or save the model with torch.jit.script / torch.export"


def _is_torch_save(path: Path) -> bool:
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
        if not exported and _is_torch_save(model_path):
            raise ModelLoadError(
                f"{model_path.name} is a torch.save file (a state_dict or a pickled module), which needs "
                f"your model's Python class to load: {SAVE_HINT}"
            ) from exc
        kind = "exported program (torch.export)" if exported else "TorchScript file"
        raise ModelLoadError(f"{model_path} is not a loadable {kind}: {exc}") from exc


def load_model(
    model_path: Path, device: str, dtype: str, metadata: ModelMetadata | None = None
) -> ServedModel:
    """A model file with no handler; `metadata` is read from beside the file unless given (model.json)."""
    metadata = metadata if metadata is not None else load_metadata(model_path)
    for spec in metadata.inputs:
        if spec.datatype == "BYTES":
            raise ModelLoadError(
                f"input {spec.name!r} is BYTES, which a model file cannot take: a handler.py beside it "
                "decodes the bytes into tensors (python -m service init-model writes one)"
            )
    target = pick_device(device)
    exported = model_path.suffix == ".pt2"
    module = load_module(model_path, target)
    if metadata.platform is None:
        platform = "pytorch_export" if exported else "pytorch_torchscript"
        metadata = metadata.model_copy(update={"platform": platform})
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
    return ServedModel(module, metadata, target, torch_dtype, channels_last)
