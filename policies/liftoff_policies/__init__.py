"""Liftoff's guardrails as CrossGuard policies; each rule is a plain function tests can run on a plan."""

from __future__ import annotations

from pulumi_policy import PolicyPack, ResourceValidationPolicy, StackValidationPolicy

from liftoff_policies import access, clusters, containers, cost_tags, edge, gpu_pools, registries, weights
from liftoff_policies.rule import ResourceRule, StackRule

RULES: list[ResourceRule | StackRule] = [
    gpu_pools.RULE,
    registries.RULE,
    clusters.RULE,
    clusters.EKS_RULE,
    access.RULE,
    containers.SECURITY_RULE,
    containers.DIGEST_RULE,
    cost_tags.RULE,
    edge.TLS_RULE,
    edge.AUTH_RULE,
    edge.NODE_CREDENTIALS_RULE,
    weights.RULE,
    weights.STACK_RULE,
]


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [rule.policy() for rule in RULES]


def policy_pack() -> PolicyPack:
    """Serves the pack to the Pulumi engine (the constructor blocks, talking to it), so only __main__ calls it."""
    return PolicyPack(name="liftoff", policies=list(policies()))
