"""A TorchScript (or torch.export) model on its device, in its dtype, callable with numpy batches.

`ServedModel.forward` blocks; the batcher calls it from its one inference thread, never the event loop.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from service.model.datatypes import NUMPY_DTYPES, is_floating
from service.model.metadata import ModelMetadata, load_metadata
from service.model.optimize import optimize, wants_channels_last

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
        outputs = raw if isinstance(raw, tuple | list) else (raw,)
        if len(outputs) != len(self._output_numpy):
            raise ModelLoadError(
                f"the model returned {len(outputs)} tensor(s) but its metadata declares "
                f"{len(self._output_numpy)} output(s)"
            )
        arrays = []
        for tensor, np_dtype in zip(outputs, self._output_numpy, strict=True):
            if tensor.dtype in (torch.float16, torch.bfloat16):
                tensor = tensor.float()  # numpy has no bfloat16; the wire datatype decides the final type
            arrays.append(tensor.detach().cpu().numpy().astype(np_dtype, copy=False))
        return arrays

    def warm_up(self, max_batch_size: int) -> None:
        """Run the batch sizes traffic will bring first, and check the outputs match the metadata."""
        for rows in sorted({1, max_batch_size}):
            inputs = [
                np.zeros((rows, *spec.row_shape), dtype=NUMPY_DTYPES[spec.datatype])
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
                raise ModelLoadError(
                    f"the warm-up forward pass with {rows} row(s) failed{hint}: {exc}"
                ) from exc
            for spec, array in zip(self.metadata.outputs, outputs, strict=True):
                if array.shape != (rows, *spec.row_shape):
                    raise ModelLoadError(
                        f"output {spec.name!r} has shape {list(array.shape)} for {rows} row(s), "
                        f"but the metadata declares {list(spec.shape)}"
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


def load_model(model_path: Path, device: str, dtype: str) -> ServedModel:
    metadata = load_metadata(model_path)
    target = pick_device(device)
    log_cpu_fallback(device, target)
    exported = model_path.suffix == ".pt2"
    try:
        with warnings.catch_warnings():
            # torch 2.10+ marks TorchScript deprecated; it still loads, and it is a format we promise.
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*torch.jit")
            if exported:
                module = torch.export.load(str(model_path)).module().to(target)
            else:
                module = torch.jit.load(str(model_path), map_location=target)
    except Exception as exc:  # torch raises many kinds for a file it cannot read
        kind = "exported program (torch.export)" if exported else "TorchScript file"
        raise ModelLoadError(f"{model_path} is not a loadable {kind}: {exc}") from exc
    if metadata.platform is None:
        platform = "pytorch_export" if exported else "pytorch_torchscript"
        metadata = metadata.model_copy(update={"platform": platform})
    if not exported:  # an exported program keeps the mode it was exported in (and refuses eval())
        module.eval()
    torch_dtype = TORCH_DTYPES[dtype]
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
