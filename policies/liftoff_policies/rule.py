"""A rule is a plain function from a resource to the problems it has, so tests can run it on recorded plans.

`ResourceRule.check(type, props)` returns messages; `StackRule.check(resources)` looks across resources.
Both turn into mandatory CrossGuard policies. Property names are the engine's (camelCase), which is what
both `pulumi preview` and the offline plan's mocks see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

Props = Mapping[str, Any]


@dataclass(frozen=True)
class Resource:
    """What a stack rule sees of one resource."""

    type: str
    name: str
    props: Props
    property_dependencies: Mapping[str, Sequence[Resource]] = field(default_factory=dict)
    """For each property, the resources its value comes from (ids are unknown before creation)."""


@dataclass(frozen=True)
class ResourceRule:
    name: str
    description: str
    check: Callable[[str, Props], Iterable[str]]

    def policy(self) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report: Callable[..., None]) -> None:
            for message in self.check(args.resource_type, args.props):
                report(message)

        return ResourceValidationPolicy(
            name=self.name,
            description=self.description,
            validate=validate,
            enforcement_level=EnforcementLevel.MANDATORY,
        )


@dataclass(frozen=True)
class StackRule:
    name: str
    description: str
    check: Callable[[Sequence[Resource]], Iterable[str]]

    def policy(self) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report: Callable[..., None]) -> None:
            resources = [_resource(r) for r in args.resources]
            for message in self.check(resources):
                report(message)

        return StackValidationPolicy(
            name=self.name,
            description=self.description,
            validate=validate,
            enforcement_level=EnforcementLevel.MANDATORY,
        )


def _resource(policy_resource: Any, depth: int = 1) -> Resource:
    """The engine's view of a resource, with one level of property dependencies."""
    dependencies = policy_resource.property_dependencies if depth else {}
    return Resource(
        type=policy_resource.resource_type,
        name=policy_resource.name,
        props=policy_resource.props,
        property_dependencies={
            key: [_resource(d, depth - 1) for d in deps] for key, deps in (dependencies or {}).items()
        },
    )


def dig(props: Props | None, *path: str) -> Any:
    """props[path[0]][path[1]]..., or None where any step is missing."""
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
