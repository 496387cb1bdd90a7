"""The inference pod's side of the weights: where they are fetched to, how big that volume is, how long
the startup probe waits, and what of the cloud's `WeightsAccess` the pod and its ServiceAccount carry.

The server fetches into an emptyDir before readiness (LIFTOFF_WEIGHTS_DIR). The kubelet counts an emptyDir
against the pod's ephemeral-storage limit, so the container's request and limit grow by the volume: the
scheduler then picks a node with that much disk, and the pod is not evicted mid-fetch.
"""

from __future__ import annotations

from typing import Any

from infra.weights import WEIGHTS_DIR, fetch_seconds, volume_mib
from infra.weights.access import WeightsAccess

VOLUME = "weights"
VERSION_ANNOTATION = "liftoff.dev/weights-version"
"""On the pod template: new weights under the same prefix change it, and the Deployment rolls."""


def environment(access: WeightsAccess | None) -> list[dict[str, Any]]:
    if access is None:
        return []
    env: dict[str, Any] = {
        "LIFTOFF_WEIGHTS_URI": access.uri,
        "LIFTOFF_WEIGHTS_DIR": WEIGHTS_DIR,
        **access.env,
    }
    return [{"name": name, "value": value} for name, value in env.items()]


def env_from(access: WeightsAccess | None) -> list[dict[str, Any]] | None:
    """The dev stack's credentials Secret, whole (it holds the two AWS_* keys the S3 client reads)."""
    if access is None or access.credentials_secret is None:
        return None
    return [{"secretRef": {"name": access.credentials_secret}}]


def volume(access: WeightsAccess | None) -> list[dict[str, Any]]:
    if access is None:
        return []
    return [{"name": VOLUME, "emptyDir": {"sizeLimit": f"{volume_mib(access.total_bytes)}Mi"}}]


def mount(access: WeightsAccess | None) -> list[dict[str, Any]]:
    return [] if access is None else [{"name": VOLUME, "mountPath": WEIGHTS_DIR}]


def extra_ephemeral_mib(access: WeightsAccess | None) -> int:
    return 0 if access is None else volume_mib(access.total_bytes)


def extra_startup_s(access: WeightsAccess | None) -> int:
    """The fetch at the slowest rate allowed for, on top of liftoff:startupTimeoutSeconds."""
    return 0 if access is None else fetch_seconds(access.total_bytes)


def template_metadata(access: WeightsAccess | None) -> dict[str, Any]:
    if access is None:
        return {}
    return {"annotations": {VERSION_ANNOTATION: access.version}}
