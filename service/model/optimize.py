"""Make a loaded TorchScript model as fast as this device allows, measured per model kind.

- Freezing inlines the weights as constants, so TorchScript can fold batch norms into convolutions and
  drop attribute lookups from every forward pass.
- On CPU in float32, a model with convolutions is then handed to `optimize_for_inference`, which rewrites
  them for oneDNN, which serves the ResNet-18-sized benchmark model markedly faster (docs/benchmarks.md).
- Image inputs (4-D) run channels-last on a GPU and in bfloat16/float16, where the kernels want that layout.

Any model that cannot be frozen (it mutates its own attributes, say) is served as loaded, with a warning.
"""

from __future__ import annotations

import logging
import warnings

import torch

log = logging.getLogger(__name__)


def wants_channels_last(device: torch.device, dtype: torch.dtype, image_input: bool) -> bool:
    return image_input and (device.type == "cuda" or dtype != torch.float32)


def optimize(
    module: torch.jit.ScriptModule, device: torch.device, dtype: torch.dtype, channels_last: bool
) -> torch.jit.ScriptModule:
    if channels_last:
        module = module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    try:
        with warnings.catch_warnings():
            # torch 2.10+ marks TorchScript deprecated; freezing still works, and it is the format we serve.
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*torch.jit")
            frozen = torch.jit.freeze(module)
            if device.type == "cpu" and dtype == torch.float32 and "aten::conv" in str(frozen.graph):
                frozen = torch.jit.optimize_for_inference(frozen)
    except (RuntimeError, AttributeError) as exc:
        log.warning("serving the model unoptimised: TorchScript could not freeze it (%s)", exc)
        return module
    return frozen
