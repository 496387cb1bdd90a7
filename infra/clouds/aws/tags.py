"""Cost tags every AWS resource of a stack carries (the policy pack checks them)."""

from __future__ import annotations

import pulumi


def cost_tags(stack: str | None = None) -> dict[str, str]:
    """`project`, `stack` and `managed-by`: enough to find, bill and clean up everything a stack made."""
    return {"project": "liftoff", "stack": stack or pulumi.get_stack(), "managed-by": "pulumi"}


def cluster_tag_key(cluster_name: str) -> str:
    """The tag through which EKS and its controllers find the subnets and node groups of one cluster."""
    return f"kubernetes.io/cluster/{cluster_name}"
