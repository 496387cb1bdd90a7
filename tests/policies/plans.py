"""Offline plans as the policy pack sees them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from liftoff_policies import RULES
from liftoff_policies.rule import Resource, ResourceRule, StackRule

from infra.plan import Plan, PlannedResource

STACKS = ["dev", "aws", "gcp", "azure"]
# The offline plan's mocks give every resource the id "<name>-id"; the engine gives policies the resources a
# property depends on instead. This rebuilds that view for the properties the stack rules read.
# Mock ids repeat across types (a subnet and its route table association may share a name), so each property
# names the type it points at.
DEPENDENCY_PROPERTIES = {"aws:eks/nodeGroup:NodeGroup": {"subnetIds": "aws:ec2/subnet:Subnet"}}


def as_policy_resources(plan: Plan, replace: dict[str, PlannedResource] | None = None) -> list[Resource]:
    planned = [(replace or {}).get(r.urn, r) for r in plan.resources]
    by_id = {(r.type, f"{r.name}-id"): r for r in planned}

    def view(r: PlannedResource, depth: int = 1) -> Resource:
        deps: dict[str, Sequence[Resource]] = {}
        if depth:
            for prop, target in DEPENDENCY_PROPERTIES.get(r.type, {}).items():
                ids = r.inputs.get(prop) or []
                deps[prop] = [view(by_id[target, i], 0) for i in ids if (target, i) in by_id]
        return Resource(r.type, r.name, r.inputs, deps)

    return [view(r) for r in planned]


def violations(plan: Plan, replace: dict[str, PlannedResource] | None = None) -> list[str]:
    """Every message every rule reports for the plan, as `rule: resource: message`."""
    resources = as_policy_resources(plan, replace)
    found = []
    for rule in RULES:
        if isinstance(rule, ResourceRule):
            found += [f"{rule.name}: {r.name}: {m}" for r in resources for m in rule.check(r.type, r.props)]
        elif isinstance(rule, StackRule):
            found += [f"{rule.name}: {m}" for m in rule.check(resources)]
    return found


def broken(resource: PlannedResource, mutate: Callable[[dict[str, Any]], None]) -> PlannedResource:
    """A copy of the resource with its inputs changed by `mutate`."""
    inputs = copy.deepcopy(resource.inputs)
    mutate(inputs)
    return PlannedResource(**{**resource.__dict__, "inputs": inputs})
