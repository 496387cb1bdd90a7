"""A wait for Azure role assignments to take effect before anything uses them.

Azure says a new role assignment can take up to five minutes to reach every service that checks it
(https://learn.microsoft.com/en-us/azure/role-based-access-control/troubleshooting, "role assignment
changes are not being detected"). The deployer's AKS RBAC Cluster Admin and AcrPush are used seconds after
they are created (the first Helm release, the first push), so without a wait the first `pulumi up` meets a
403. `RolePropagation` is a dynamic resource whose creation waits `PROPAGATION_S`: it runs once, when the
assignments are new, and never on later runs (it has nothing to update), so only the first `pulumi up` pays.
"""

from __future__ import annotations

import time
from typing import Any

import pulumi
import pulumi.dynamic

PROPAGATION_S = 300


class _Wait(pulumi.dynamic.ResourceProvider):
    """Runs in Pulumi's dynamic-provider host at `pulumi up`; never under the mocks."""

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        time.sleep(float(props["seconds"]))
        return pulumi.dynamic.CreateResult(id_="propagated", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        # A new or replaced assignment (its id changes) replaces this resource, so it waits again.
        return pulumi.dynamic.DiffResult(
            changes=olds.get("assignments") != news.get("assignments"),
            replaces=["assignments"] if olds.get("assignments") != news.get("assignments") else [],
            delete_before_replace=False,
        )


class RolePropagation(pulumi.dynamic.Resource, module="liftoff", name="RolePropagation"):
    """Created once the role assignments exist, `PROPAGATION_S` later: depend on it instead of on them."""

    def __init__(
        self,
        name: str,
        *,
        assignments: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "seconds": PROPAGATION_S,
            "assignments": [
                assignment.id for assignment in assignments if isinstance(assignment, pulumi.CustomResource)
            ],
        }
        super().__init__(
            _Wait(),
            name,
            props,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=assignments)),
        )
