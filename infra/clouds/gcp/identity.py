"""The nodes' own service account, holding only what a node needs.

Not the Compute Engine default account (which has Editor on the project): nodes write logs and metrics,
and pull images from this stack's repository. The registry role is bound on the repository itself, not the
project, so the nodes cannot read any other repository. Pods get their own identities through Workload
Identity; they never borrow this one (the metadata server hides it from them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.clouds.children import Children
from infra.clouds.gcp.settings import GcpSettings

# roles/container.defaultNodeServiceAccount is GKE's documented minimum for a node's own account (it holds
# logging, monitoring and the metadata writes nodes make); the two before it are kept for clusters whose
# GKE predates that role.
NODE_PROJECT_ROLES = (
    "roles/container.defaultNodeServiceAccount",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
)
NODE_REPOSITORY_ROLE = "roles/artifactregistry.reader"


@dataclass(frozen=True)
class NodeIdentity:
    account: gcp.serviceaccount.Account
    grants: list[pulumi.Resource]
    """The role bindings: node pools wait for them, or nodes would boot unable to log or pull."""


def node_account_id(stack: str) -> str:
    """6 to 30 characters, lower-case letters, digits and '-', starting with a letter."""
    base = re.sub(r"[^a-z0-9-]", "-", f"liftoff-{stack.lower()}")[:24].rstrip("-")
    return f"{base}-nodes"


def create_node_identity(
    name: str,
    settings: GcpSettings,
    *,
    repository: gcp.artifactregistry.Repository,
    children: Children,
    depends_on: list[pulumi.Resource],
) -> NodeIdentity:
    opts = children.opts(depends_on=depends_on)
    account = gcp.serviceaccount.Account(
        f"{name}-nodes",
        project=settings.project,
        account_id=node_account_id(pulumi.get_stack()),
        display_name="Liftoff GKE nodes",
        description="GKE node identity: writes logs and metrics, pulls from the Liftoff repository",
        opts=opts,
    )
    member = account.email.apply(lambda email: f"serviceAccount:{email}")
    grants: list[pulumi.Resource] = [
        gcp.projects.IAMMember(
            f"{name}-nodes-{role.split('/')[1].replace('.', '-').lower()}",
            project=settings.project,
            role=role,
            member=member,
            opts=opts,
        )
        for role in NODE_PROJECT_ROLES
    ]
    grants.append(
        gcp.artifactregistry.RepositoryIamMember(
            f"{name}-nodes-registry-reader",
            project=settings.project,
            location=repository.location,
            repository=repository.name,
            role=NODE_REPOSITORY_ROLE,
            member=member,
            opts=opts,
        )
    )
    return NodeIdentity(account=account, grants=grants)
