"""Artifact Registry: the Docker repository the inference image is pushed to, with a cleanup policy.

Pushes authenticate with the caller's own OAuth access token (`oauth2accesstoken` is the user name
Artifact Registry expects with one): no long-lived key is created, and the token lives about an hour,
longer than any `pulumi up` push.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.clouds.children import Children
from infra.clouds.gcp.settings import GcpSettings

IMAGE_NAME = "liftoff"
TOKEN_USERNAME = "oauth2accesstoken"  # noqa: S105 (a fixed user name, not a secret)


@dataclass(frozen=True)
class ImageRegistry:
    repository: gcp.artifactregistry.Repository
    url: pulumi.Output[str]
    """`<region>-docker.pkg.dev/<project>/<repository>/liftoff`: where the image is pushed."""
    username: str
    password: pulumi.Output[str]
    """Secret: the access token of whoever runs `pulumi up`."""


def repository_id(stack: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", f"liftoff-{stack.lower()}")[:63]


def create_registry(
    name: str,
    settings: GcpSettings,
    *,
    children: Children,
    depends_on: list[pulumi.Resource],
) -> ImageRegistry:
    repository = gcp.artifactregistry.Repository(
        f"{name}-images",
        project=settings.project,
        location=settings.region,
        repository_id=repository_id(pulumi.get_stack()),
        format="DOCKER",
        description="Liftoff inference images",
        labels=dict(children.tags),
        cleanup_policy_dry_run=False,
        cleanup_policies=[
            # DELETE matches every version older than a day; KEEP wins over DELETE for the newest ones,
            # so the repository holds the last `keep_count` images and whatever was pushed today.
            gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                id="delete-older",
                action="DELETE",
                condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(
                    tag_state="ANY", older_than="1d"
                ),
            ),
            gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                id="keep-recent",
                action="KEEP",
                most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(
                    keep_count=settings.registry_keep_count
                ),
            ),
        ],
        opts=children.opts(depends_on=depends_on),
    )
    url = pulumi.Output.concat(
        repository.location,
        "-docker.pkg.dev/",
        repository.project,
        "/",
        repository.repository_id,
        f"/{IMAGE_NAME}",
    )
    token = gcp.organizations.get_client_config_output(opts=children.invoke()).access_token
    return ImageRegistry(
        repository=repository, url=url, username=TOKEN_USERNAME, password=pulumi.Output.secret(token)
    )
