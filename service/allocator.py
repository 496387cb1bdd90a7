"""Imported first by `python -m service`, before torch loads: glibc keeps a forward pass's memory for the next.

A forward pass frees megabytes of activations and asks for them again a moment later. glibc serves large
requests with fresh mmap'd pages and hands freed heap tops back to the kernel, each by a threshold it adjusts
as it goes, so a worker could fault its activations' pages back in on every pass while its twin did not,
and serve fewer images. Fixing both thresholds keeps pages up to 32 MiB (the largest mmap threshold glibc
takes) in the process, and every worker serves alike (docs/performance.md).

A threshold already set in the environment (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES)
wins; other C libraries (musl, macOS) are left as they are.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
"""glibc's largest allowed mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX): a ResNet-18 FP32 batch
of 8 allocates at most ~26 MB at once, below it."""
TRIM_THRESHOLD_BYTES = 256 * 1024 * 1024
"""Free memory a heap keeps at its top before returning it: room for a few batches' activations."""

OWN_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def keep_freed_memory(environ: Mapping[str, str] = os.environ) -> bool:
    """Fix glibc's thresholds; False where it is not glibc or the environment already chose."""
    if any(name in environ for name in OWN_SETTINGS):
        return False
    libc = ctypes.CDLL(None)  # the C library this Python runs on
    if not hasattr(libc, "gnu_get_libc_version"):  # not glibc
        return False
    # mallopt answers 1 on success.
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )


KEPT = keep_freed_memory()
