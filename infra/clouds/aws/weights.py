"""The model's weights on AWS: a private, encrypted S3 bucket, the files content-addressed in it, and a
read-only role the inference pods assume through EKS Pod Identity.

EKS Pod Identity ties an IAM role to one service account in one namespace (a PodIdentityAssociation); the
EKS Pod Identity Agent add-on hands the pod's SDK short-lived credentials, so the ServiceAccount needs no
annotation and no key is stored anywhere. See "Learn how EKS Pod Identity grants pods access to AWS
services" (docs.aws.amazon.com/eks/latest/userguide/pod-identities.html) and CreatePodIdentityAssociation
(docs.aws.amazon.com/eks/latest/APIReference/API_CreatePodIdentityAssociation.html). The role reads only the
weights' prefix: GetObject on its keys, ListBucket limited to it (without ListBucket a missing key answers
403, and the fetch could not tell a missing object from a denied read).
"""

from __future__ import annotations

import functools
import json

import pulumi
import pulumi_aws as aws

from infra.clouds.aws import iam
from infra.clouds.children import Children
from infra.settings import Settings
from infra.weights import POD_SERVICE_ACCOUNT
from infra.weights.access import WeightsAccess
from infra.weights.location import WeightsLocation
from infra.weights.stack import host_egress, https_egress, reject_dev_only_keys, require_scheme
from infra.weights.upload import plan_upload, upload

SCHEME = "s3"
POD_IDENTITY_AGENT = "169.254.170.23/32"
"""Where the EKS Pod Identity Agent serves the pod's credentials (port 80, on the node)."""
READ_ACTIONS = ("s3:GetObject", "s3:ListBucket")
"""Everything the pod's role may do: read; the policy pack holds it to this."""


def create_weights(
    name: str,
    settings: Settings,
    location: WeightsLocation,
    *,
    cluster: aws.eks.Cluster,
    region: str,
    children: Children,
) -> WeightsAccess:
    reject_dev_only_keys(settings, "S3")
    env = {"AWS_REGION": region}
    egress = [https_egress(), host_egress(POD_IDENTITY_AGENT, 80)]
    uri = require_scheme(location, SCHEME, "S3")
    total = location.total_bytes or 0
    if location.uri is not None and uri is None:  # https: nothing to grant
        return WeightsAccess(uri=location.uri.uri, total_bytes=total, version=location.uri.uri, egress=egress)
    uploads: list[pulumi.Resource] = []
    if uri is not None:
        bucket: pulumi.Input[str] = uri.bucket
        prefix, version = uri.prefix, uri.uri
    else:
        assert location.manifest is not None
        plan = plan_upload(location.manifest, settings.weights.key_prefix(settings.model_name))
        bucket = settings.weights.bucket or create_bucket(f"{name}-bucket", children).bucket
        uploads = upload(
            name,
            plan,
            children,
            functools.partial(aws.s3.BucketObjectv2, bucket=bucket),
            key="key",
            text="content",
            checksum_algorithm="SHA256",  # S3 checks the bytes it stored against the ones sent
        )
        prefix, version = plan.prefix, plan.digest
    role = iam.role(
        f"{name}-reader",
        service=iam.POD_IDENTITY_PRINCIPAL,
        managed_policies=(),
        description="Inference pods: read the model's weights, nothing else",
        children=children,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-reader-read",
        role=role.id,
        policy=pulumi.Output.from_input(bucket).apply(lambda b: read_policy(b, prefix)),
        opts=children.opts(),
    )
    association = aws.eks.PodIdentityAssociation(
        f"{name}-pod-identity",
        cluster_name=cluster.name,
        namespace=settings.namespace,
        service_account=POD_SERVICE_ACCOUNT,
        role_arn=role.arn,
        tags=dict(children.tags),
        opts=children.opts(depends_on=[cluster]),
    )
    return WeightsAccess(
        uri=pulumi.Output.concat(f"{SCHEME}://", bucket, "/", prefix),
        total_bytes=total,
        version=version,
        env=env,
        egress=egress,
        depends_on=[*uploads, policy, association],
    )


def create_bucket(name: str, children: Children) -> aws.s3.Bucket:
    """Private (every public-access block on, ACLs disabled), encrypted at rest, TLS only."""
    bucket = aws.s3.Bucket(
        name, bucket_prefix="liftoff-weights-", tags=children.tagged(Name=name), opts=children.opts()
    )
    aws.s3.BucketPublicAccessBlock(
        f"{name}-no-public",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=children.opts(),
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-owner",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=children.opts(),
    )
    # SSE-S3 rather than a KMS key: the pod's role then needs no kms:Decrypt, only the read below.
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=children.opts(),
    )
    aws.s3.BucketPolicy(
        f"{name}-tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(_tls_only),
        opts=children.opts(),
    )
    return bucket


def read_policy(bucket: str, prefix: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadWeights",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
                },
                {
                    "Sid": "ListWeightsPrefix",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket"],
                    "Resource": f"arn:aws:s3:::{bucket}",
                    "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                },
            ],
        }
    )


def _tls_only(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyPlainHttp",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )
