"""The weights rule passes each cloud stack that keeps weights, and fails broken copies: a public or
unencrypted bucket or container, a grant that lets the pods write."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from infra.plan import Plan, PlannedResource, run_stack
from tests.infra.weights.weights_models import local_model
from tests.policies.plans import broken, violations


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    model = local_model("big")
    return {cloud: run_stack(cloud, {"model": model}) for cloud in ("aws", "gcp", "azure")}


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_a_stack_with_weights_passes_every_policy(plans: dict[str, Plan], cloud: str) -> None:
    assert violations(plans[cloud]) == []


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda inputs: inputs.__setitem__(key, value)


WRITE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}],
    }
)
BREAKAGES = {
    "s3-public-acls": (
        "aws",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        _set("blockPublicAcls", False),
        "blockPublicAcls",
    ),
    "s3-unencrypted": (
        "aws",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        _set("rules", []),
        "no default encryption",
    ),
    "s3-pod-writes": ("aws", "aws:iam/rolePolicy:RolePolicy", _set("policy", WRITE_POLICY), "s3:PutObject"),
    "gcs-acls": (
        "gcp",
        "gcp:storage/bucket:Bucket",
        _set("uniformBucketLevelAccess", False),
        "uniformBucketLevelAccess",
    ),
    "gcs-public": (
        "gcp",
        "gcp:storage/bucket:Bucket",
        _set("publicAccessPrevention", "inherited"),
        "publicAccessPrevention",
    ),
    "gcs-pod-admin": (
        "gcp",
        "gcp:storage/bucketIAMMember:BucketIAMMember",
        _set("role", "roles/storage.objectAdmin"),
        "objectAdmin",
    ),
    "blob-public-account": (
        "azure",
        "azure-native:storage:StorageAccount",
        _set("allowBlobPublicAccess", True),
        "public blobs",
    ),
    "blob-public-container": (
        "azure",
        "azure-native:storage:BlobContainer",
        _set("publicAccess", "Blob"),
        "anonymous",
    ),
    "blob-pod-contributor": (
        "azure",
        "azure-native:authorization:RoleAssignment",
        _set(
            "roleDefinitionId",
            "/subscriptions/0/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        ),
        "Storage Blob Data Contributor",
    ),
}


def _weights_resource(plan: Plan, type_: str) -> PlannedResource:
    return next(r for r in plan.by_type(type_) if r.name.startswith("weights"))


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_a_broken_copy_fails_the_weights_rule(plans: dict[str, Plan], case: str) -> None:
    cloud, type_, mutate, message = BREAKAGES[case]
    plan = plans[cloud]
    target = _weights_resource(plan, type_)
    found = violations(plan, {target.urn: broken(target, mutate)})
    assert [v for v in found if v.startswith("weights-private-read-only:") and message in v], found


def test_a_bucket_without_its_public_access_block_fails_the_stack_rule(plans: dict[str, Plan]) -> None:
    plan = plans["aws"]
    without = Plan(
        plan.stack,
        [r for r in plan.resources if r.type != "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
        plan.outputs,
    )
    assert any(
        v.startswith("weights-buckets-guarded:") and "public access block" in v for v in violations(without)
    )
