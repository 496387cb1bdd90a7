"""Whether this CPU runs a half-precision dtype in hardware, or oneDNN emulates it.

Without AVX-512 (for bfloat16) or AVX-512 FP16 / AMX (for float16), torch still runs the model, only far
slower than in float32 (many times, for a ResNet-18-sized model on a CPU with AVX2 only). Serving and
benchmarking need to say so instead of quietly
being slow.
"""

from __future__ import annotations

import torch

HALF_PRECISIONS = (torch.bfloat16, torch.float16)


def runs_natively_on_cpu(dtype: torch.dtype) -> bool:
    """True for float32, and for a half precision this CPU's oneDNN reports as supported."""
    if dtype not in HALF_PRECISIONS:
        return True
    # torch exposes the check only as oneDNN's private op; a torch without it is taken at its word that
    # the dtype runs, since the warning this feeds would otherwise fire on every machine.
    check = "_is_mkldnn_bf16_supported" if dtype == torch.bfloat16 else "_is_mkldnn_fp16_supported"
    try:
        return bool(getattr(torch.ops.mkldnn, check)())
    except (AttributeError, RuntimeError):
        return True
