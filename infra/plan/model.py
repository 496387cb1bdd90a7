"""What an offline plan found: every resource with its inputs, the stack outputs, the Kubernetes objects."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SECRET = "[secret]"  # noqa: S105 (a placeholder, not a password)
"""Stands in for every secret value in a plan: plans are printed and written to disk."""
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


@dataclass(frozen=True)
class PlannedResource:
    type: str
    name: str
    parent: str
    """URN of the parent ("" for the stack's direct children)."""
    urn: str
    inputs: dict[str, Any]
    provider: str
    """Reference (`urn::id`) of the explicit provider; "" when the resource would use a default provider."""
    custom: bool
    read: bool = False
    """Read from the cluster (`.get`), not created."""

    @property
    def parent_name(self) -> str:
        return self.parent.rsplit("::", 1)[-1] if self.parent else ""

    @property
    def parent_type(self) -> str:
        return self.parent.split("::")[2].rsplit("$", 1)[-1] if self.parent else ""

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""

    @property
    def is_kubernetes_object(self) -> bool:
        """A Kubernetes object this program applies itself (not a provider, Helm release or read)."""
        return (
            self.custom
            and not self.read
            and self.type.startswith("kubernetes:")
            and self.type != HELM_RELEASE
            and not self.type.startswith("kubernetes:helm.sh/")
        )


@dataclass
class Plan:
    stack: str
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    unanswered_calls: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the program passed to `pulumi.log.warn`, in order: what `pulumi up` would show the user."""

    def by_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> PlannedResource:
        """The only resource of this type (and name); AssertionError otherwise, for tests to read."""
        found = [r for r in self.by_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> PlannedResource | None:
        return next((r for r in self.resources if r.urn == urn), None)

    def kubernetes_resources(self) -> list[PlannedResource]:
        return [r for r in self.resources if r.is_kubernetes_object]

    def helm_releases(self) -> list[PlannedResource]:
        return self.by_type(HELM_RELEASE)

    def helm_release(self, chart: str) -> PlannedResource:
        found = [r for r in self.helm_releases() if r.inputs.get("chart") == chart]
        assert len(found) == 1, f"expected one Helm release of chart {chart}, found {len(found)}"
        return found[0]

    def k8s_objects(self) -> list[dict[str, Any]]:
        """Every Kubernetes object the program applies, as the manifest the provider would send."""
        return [manifest(r) for r in self.kubernetes_resources()]

    def k8s_object(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [o for o in self.k8s_objects() if o["kind"] == kind and name in (None, o["metadata"]["name"])]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        raw = json.loads(text)
        raw["resources"] = [PlannedResource(**r) for r in raw["resources"]]
        return cls(**raw)


def manifest(resource: PlannedResource) -> dict[str, Any]:
    """The object's manifest: its inputs without Pulumi's own keys and unset fields. An object without a
    name would be auto-named by the provider; the plan shows the resource name there."""
    body = _prune({k: v for k, v in resource.inputs.items() if not k.startswith("__")})
    metadata = body.setdefault("metadata", {})
    metadata.setdefault("name", resource.name)
    return body


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value
