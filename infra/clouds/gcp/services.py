"""The project APIs the stack needs, enabled first and left enabled on destroy.

Disabling an API on destroy would break anything else in the project that uses it (and the APIs take
minutes to come back), so `disable_on_destroy=False`: `pulumi destroy` forgets them and leaves them on.
"""

from __future__ import annotations

import pulumi_gcp as gcp

from infra.clouds.children import Children

REQUIRED_APIS = (
    "compute.googleapis.com",
    "container.googleapis.com",
    "artifactregistry.googleapis.com",
    "iam.googleapis.com",
    # The project-level IAM bindings (the node account's roles) go through Resource Manager, which a
    # fresh project has off.
    "cloudresourcemanager.googleapis.com",
)


def enable_services(name: str, project: str, *, children: Children) -> list[gcp.projects.Service]:
    return [
        gcp.projects.Service(
            f"{name}-{api.split('.')[0]}",
            project=project,
            service=api,
            disable_on_destroy=False,
            disable_dependent_services=False,
            opts=children.opts(),
        )
        for api in REQUIRED_APIS
    ]
