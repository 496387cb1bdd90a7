"""Workload containers run as non-root with limits, a read-only root filesystem, probes and pinned images."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from liftoff_policies.rule import Props, ResourceRule, dig

WORKLOADS = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}


def _pod_spec(resource_type: str, props: Props) -> dict[str, Any] | None:
    path = WORKLOADS.get(resource_type)
    return dig(props, *path) if path else None


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod.get("containers") or []) + list(pod.get("initContainers") or [])


def check_security(resource_type: str, props: Props) -> Iterator[str]:
    pod = _pod_spec(resource_type, props)
    if pod is None:
        return
    pod_non_root = dig(pod, "securityContext", "runAsNonRoot") is True
    for container in _containers(pod):
        name = container.get("name")
        context = container.get("securityContext") or {}
        if not (
            context.get("runAsNonRoot") is True or (pod_non_root and context.get("runAsNonRoot") is not False)
        ):
            yield f"Container {name!r} may run as root: set securityContext.runAsNonRoot = true (and a runAsUser)."
        if context.get("readOnlyRootFilesystem") is not True:
            yield (
                f"Container {name!r} can write its root filesystem: set securityContext.readOnlyRootFilesystem = "
                "true and mount an emptyDir where it must write."
            )
        limits = dig(container, "resources", "limits") or {}
        if "memory" not in limits:
            yield f"Container {name!r} has no memory limit: set resources.limits.memory."
    for container in pod.get("containers") or []:
        name = container.get("name")
        for probe in ("readinessProbe", "livenessProbe"):
            if not container.get(probe):
                yield f"Container {name!r} has no {probe}: add one so Kubernetes routes to and restarts it correctly."


def check_digest(resource_type: str, props: Props) -> Iterator[str]:
    pod = _pod_spec(resource_type, props)
    if pod is None:
        return
    for container in _containers(pod):
        image = str(container.get("image") or "")
        if "@sha256:" not in image:
            yield (
                f"Container {container.get('name')!r} uses {image!r}, a tag that can move: reference the image by "
                "digest (repository@sha256:...)."
            )


SECURITY_RULE = ResourceRule(
    name="containers-non-root-limited-read-only-probed",
    description="Containers run as non-root, with a memory limit, a read-only root filesystem and probes.",
    check=check_security,
)
DIGEST_RULE = ResourceRule(
    name="images-by-digest",
    description="Workload images are referenced by digest, never by a movable tag.",
    check=check_digest,
)
