"""What every resource a cloud component creates shares: its parent and its cost tags.

A cloud's helpers (network, cluster, node pools, registry, ...) take one `Children` rather than a `parent`
and a `tags` argument each, so neither is threaded through every call by hand and no helper can forget one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Children:
    parent: pulumi.Resource
    """The cloud's ComponentResource: every child is created under it."""
    tags: Mapping[str, str]
    """Cost tags (labels on GCP) every taggable child carries; the policy pack checks them."""

    def opts(
        self,
        *,
        depends_on: Sequence[pulumi.Resource] = (),
        provider: pulumi.ProviderResource | None = None,
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self.parent, depends_on=list(depends_on) or None, provider=provider
        )

    def invoke(self, provider: pulumi.ProviderResource | None = None) -> pulumi.InvokeOutputOptions:
        return pulumi.InvokeOutputOptions(parent=self.parent, provider=provider)

    def tagged(self, **extra: str) -> dict[str, str]:
        """The cost tags plus `extra` (a `Name`, a role tag), as a fresh dict for one resource."""
        return {**self.tags, **extra}
