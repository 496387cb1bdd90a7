"""ECR: the inference image's repository, and the short-lived credentials to push to it."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.clouds.aws.settings import AwsSettings
from infra.clouds.children import Children
from infra.clouds.platform import Registry


def lifecycle_policy(keep_last: int) -> str:
    """Expire all but the newest `keep_last` images, tagged or not: every push is a new immutable tag."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Keep the newest {keep_last} images",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_last,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )


def create_registry(
    settings: AwsSettings, *, repository_name: str, provider: aws.Provider, children: Children
) -> tuple[aws.ecr.Repository, Registry]:
    opts = children.opts()
    repository = aws.ecr.Repository(
        "images",
        name=repository_name,
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
        # A tag names one image forever, so a deployment by tag can never silently change.
        image_tag_mutability="IMMUTABLE",
        # KMS with the account's AWS-managed ECR key: encrypted at rest, no key of ours to pay for or lose.
        encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")],
        # `pulumi destroy` must not stop at a repository that still holds the images it pushed.
        force_delete=settings.ecr_force_delete,
        tags=dict(children.tags),
        opts=opts,
    )
    aws.ecr.LifecyclePolicy(
        "images", repository=repository.name, policy=lifecycle_policy(settings.ecr_keep_last), opts=opts
    )
    # A token valid for 12 hours, fetched on every `pulumi up`; it never sits in the stack's config.
    token = aws.ecr.get_authorization_token_output(
        registry_id=repository.registry_id, opts=children.invoke(provider)
    )
    registry = Registry(
        url=repository.repository_url,
        username=token.user_name,
        password=pulumi.Output.secret(token.password),
    )
    return repository, registry
