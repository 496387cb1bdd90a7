"""A model's weights outside the image: where they live, the manifest, what the stack uploads, pod sizing.

The pieces shared by every cloud; each cloud's `infra/clouds/<cloud>/weights.py` creates its store, upload
and identity from them and returns a `WeightsAccess` (infra/weights/access.py) in its `Platform`.
"""

from __future__ import annotations

import math

WEIGHTS_DIR = "/var/cache/liftoff/weights"
"""LIFTOFF_WEIGHTS_DIR in the pod: an emptyDir, fetched into before readiness."""
POD_SERVICE_ACCOUNT = "inference"
"""The inference pods' ServiceAccount, the one subject every cloud's identity trusts."""
FETCH_BYTES_PER_S = 50 * 1000**2
"""The slowest rate the startup probe allows for: well below one in-region stream from S3, GCS or Blob
storage, so a slow node or a busy store still finishes before Kubernetes restarts the pod."""
HEADROOM_BYTES = 512 * 1024**2
"""Room beside the files in the emptyDir (partial downloads while one is retried)."""
MIB = 1024**2


def volume_mib(total_bytes: int) -> int:
    """The emptyDir's sizeLimit in MiB: the files plus a tenth, plus `HEADROOM_BYTES`."""
    return math.ceil(total_bytes * 1.1 / MIB) + HEADROOM_BYTES // MIB


def fetch_seconds(total_bytes: int) -> int:
    """How long the startup probe waits for the fetch on top of the model's own load."""
    return math.ceil(total_bytes / FETCH_BYTES_PER_S)


def describe_size(total_bytes: int) -> str:
    """For the plan: "14.0 GiB (15032385536 bytes)"."""
    for unit, scale in (("GiB", 1024**3), ("MiB", MIB), ("KiB", 1024)):
        if total_bytes >= scale:
            return f"{total_bytes / scale:.1f} {unit} ({total_bytes} bytes)"
    return f"{total_bytes} bytes"
