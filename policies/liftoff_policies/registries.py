"""Image registries are private, scan what is pushed where the cloud offers it, and have no admin user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from liftoff_policies.documents import policy_documents, statements
from liftoff_policies.rule import Props, ResourceRule, dig

PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}


def _grants_everyone(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    values = principal.get("AWS", []) if isinstance(principal, dict) else []
    return statement.get("Effect") == "Allow" and (
        "*" in values if isinstance(values, list) else values == "*"
    )


def check(resource_type: str, props: Props) -> Iterator[str]:
    if resource_type == "aws:ecr/repository:Repository":
        if dig(props, "imageScanningConfiguration", "scanOnPush") is not True:
            yield "The ECR repository does not scan on push: set imageScanningConfiguration.scanOnPush = true."
    elif resource_type == "aws:ecrpublic/repository:Repository":
        yield "A public ECR repository exposes the image to anyone: use a private aws.ecr.Repository."
    elif resource_type == "aws:ecr/repositoryPolicy:RepositoryPolicy":
        documents = policy_documents(props.get("policy"))
        if any(_grants_everyone(s) for d in documents for s in statements(d)):
            yield "The ECR repository policy grants access to every principal (`*`): name the accounts or roles."
    elif resource_type in (
        "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
        "gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding",
    ):
        members = [props.get("member"), *(props.get("members") or [])]
        if PUBLIC_MEMBERS & set(members):
            yield "The Artifact Registry repository is granted to allUsers/allAuthenticatedUsers: keep it private."
    elif resource_type == "azure-native:containerregistry:Registry":
        if props.get("adminUserEnabled") is not False:
            yield (
                "The container registry's admin user is not disabled: set adminUserEnabled = false and grant "
                "AcrPull/AcrPush roles to identities instead."
            )
        if props.get("anonymousPullEnabled") is True:
            yield "The container registry allows anonymous pulls: set anonymousPullEnabled = false."


RULE = ResourceRule(
    name="registries-private-scanned-no-admin",
    description="Registries are private, scan on push where the cloud offers it, and have no admin user.",
    check=check,
)
