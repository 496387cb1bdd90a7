"""Where a model's weights are kept: the bucket or container is private and encrypted, and what the pods
are granted on it is read-only (infra/clouds/<cloud>/weights.py builds them; docs/your-model.md)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from liftoff_policies.documents import as_list, policy_documents, statements
from liftoff_policies.rule import Props, Resource, ResourceRule, StackRule, dig

S3_READ_ACTIONS = {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation"}
GCS_READ_ROLES = {"roles/storage.objectViewer", "roles/storage.legacyObjectReader"}
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
BLOB_WRITE_ROLES = {
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
}
S3_BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
S3_ENCRYPTIONS = {"AES256", "aws:kms", "aws:kms:dsse"}


def _s3_writes(statement: dict[str, Any]) -> list[str]:
    if statement.get("Effect") != "Allow":
        return []
    actions = [str(a) for a in as_list(statement.get("Action", []))]
    # A bare "*" is the no-grant rule's to report; here, S3 actions beyond reading.
    return [a for a in actions if a.startswith("s3:") and a not in S3_READ_ACTIONS]


def check(resource_type: str, props: Props) -> Iterator[str]:
    if resource_type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        off = [key for key in S3_BLOCKS if props.get(key) is not True]
        if off:
            yield f"The weights bucket's public access block leaves {', '.join(off)} off: set all four true."
    elif (
        resource_type
        == "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        algorithms = {
            dig(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
            for rule in props.get("rules") or []
        }
        if not algorithms & S3_ENCRYPTIONS:
            yield "The weights bucket has no default encryption: set sseAlgorithm to AES256 or aws:kms."
    elif resource_type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        writes = sorted(
            {a for d in policy_documents(props.get("policy")) for s in statements(d) for a in _s3_writes(s)}
        )
        if writes:
            yield f"A role may {', '.join(writes)} on S3: the pods read weights, so grant s3:GetObject and s3:ListBucket only."
    elif resource_type == "gcp:storage/bucket:Bucket":
        if props.get("uniformBucketLevelAccess") is not True:
            yield "The weights bucket allows object ACLs: set uniformBucketLevelAccess = true."
        if props.get("publicAccessPrevention") != "enforced":
            yield 'The weights bucket can be made public: set publicAccessPrevention = "enforced".'
    elif resource_type in (
        "gcp:storage/bucketIAMMember:BucketIAMMember",
        "gcp:storage/bucketIAMBinding:BucketIAMBinding",
    ):
        members = {props.get("member"), *(props.get("members") or [])}
        if PUBLIC_MEMBERS & members:
            yield "The weights bucket is granted to allUsers/allAuthenticatedUsers: keep it private."
        if props.get("role") not in GCS_READ_ROLES:
            yield f"The weights bucket grants {props.get('role')}: the pods read, so grant roles/storage.objectViewer."
    elif resource_type == "azure-native:storage:StorageAccount":
        if props.get("allowBlobPublicAccess") is not False:
            yield "The weights storage account allows public blobs: set allowBlobPublicAccess = false."
        if props.get("enableHttpsTrafficOnly") is False or props.get("minimumTlsVersion") not in (
            "TLS1_2",
            "TLS1_3",
        ):
            yield "The weights storage account accepts plain HTTP or old TLS: HTTPS only, minimumTlsVersion TLS1_2."
        if dig(props, "encryption", "services", "blob", "enabled") is False:
            yield "The weights storage account does not encrypt blobs: enable encryption.services.blob."
    elif resource_type == "azure-native:storage:BlobContainer":
        if props.get("publicAccess") not in (None, "None"):
            yield 'The weights container allows anonymous reads: set publicAccess = "None".'
    elif resource_type == "azure-native:authorization:RoleAssignment":
        role = str(props.get("roleDefinitionId") or "").rsplit("/", 1)[-1]
        if role in BLOB_WRITE_ROLES:
            yield f"A role assignment grants {BLOB_WRITE_ROLES[role]}: the pods read weights, so Storage Blob Data Reader."


def check_stack(resources: Sequence[Resource]) -> Iterator[str]:
    """An S3 bucket is private and encrypted only through resources beside it: each needs both."""

    def count(type_: str) -> int:
        return sum(1 for r in resources if r.type == type_)

    buckets = count("aws:s3/bucket:Bucket")
    if count("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock") < buckets:
        yield "An S3 bucket has no public access block: add a BucketPublicAccessBlock with all four set."
    if (
        count("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        < buckets
    ):
        yield "An S3 bucket has no default encryption: add a BucketServerSideEncryptionConfiguration."


RULE = ResourceRule(
    name="weights-private-read-only",
    description="The weights' bucket or container is private and encrypted; the pods are granted read only.",
    check=check,
)
STACK_RULE = StackRule(
    name="weights-buckets-guarded",
    description="Every S3 bucket has a public access block and default encryption beside it.",
    check=check_stack,
)
