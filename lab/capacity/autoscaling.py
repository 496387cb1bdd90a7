"""From one replica's sustainable throughput to the stack's autoscaling settings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

# The stack config keys the lab sets, by role; the names come from Pulumi.yaml when it declares them.
ROLES = ("minReplicas", "maxReplicas", "targetQueueDepth")
_DEFAULT_NAMESPACE = "liftoff"


@dataclass(frozen=True)
class Advice:
    target_rate: float
    sustainable_rps: float
    min_replicas: int
    max_replicas: int
    """ceil(target rate / one replica's sustainable rate): the fleet that holds the target rate."""
    target_queue_depth: int
    """Average rows waiting per pod at the sustainable load: above it, the autoscaler adds pods."""


def advise(
    target_rate: float, sustainable_rps: float, queue_depth: float | None, min_replicas: int = 1
) -> Advice:
    if target_rate <= 0:
        raise ValueError(f"rate: {target_rate} must be above 0 requests per second")
    if sustainable_rps <= 0:
        raise ValueError("no sustainable throughput was measured: loosen the p99 target or check the server")
    replicas = math.ceil(target_rate / sustainable_rps)
    # Little's law would give a similar figure; the measured gauge is what KEDA will read, so prefer it.
    depth = max(1, math.ceil(queue_depth)) if queue_depth is not None else 1
    return Advice(
        target_rate=target_rate,
        sustainable_rps=sustainable_rps,
        min_replicas=min(min_replicas, replicas),
        max_replicas=replicas,
        target_queue_depth=depth,
    )


def config_keys(pulumi_yaml: Path) -> tuple[dict[str, str], str]:
    """The full key for each role (`liftoff:maxReplicas`) as Pulumi.yaml declares it, and a note on where
    the names came from. A key Pulumi.yaml does not declare falls back to `liftoff:<role>`."""
    keys = {role: f"{_DEFAULT_NAMESPACE}:{role}" for role in ROLES}
    if not pulumi_yaml.exists():
        return keys, f"{pulumi_yaml} not found; using the key names infra/settings reads"
    try:
        import yaml
    except ImportError:
        return keys, "PyYAML is not installed; using the key names infra/settings reads"
    document = yaml.safe_load(pulumi_yaml.read_text()) or {}
    declared = document.get("config") or {}
    project = str(document.get("name") or _DEFAULT_NAMESPACE)
    missing = []
    for role in ROLES:
        found = [key for key in declared if str(key).split(":")[-1] == role]
        if found:
            key = str(found[0])
            keys[role] = key if ":" in key else f"{project}:{key}"
        else:
            keys[role] = f"{project}:{role}"
            missing.append(role)
    note = f"key names from {pulumi_yaml}"
    if missing:
        note += f" (not declared there: {', '.join(missing)})"
    return keys, note


def pulumi_commands(advice: Advice, keys: dict[str, str], stack: str | None = None) -> list[str]:
    stack_arg = f" --stack {stack}" if stack else ""
    values = {
        "minReplicas": advice.min_replicas,
        "maxReplicas": advice.max_replicas,
        "targetQueueDepth": advice.target_queue_depth,
    }
    return [f"pulumi config set{stack_arg} {keys[role]} {values[role]}" for role in ROLES]
