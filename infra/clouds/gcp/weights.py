"""The model's weights on Google Cloud: a private Cloud Storage bucket, the files content-addressed in it,
and a read-only Google service account the inference pods act as through GKE Workload Identity.

Workload Identity ties the pods' Kubernetes ServiceAccount to the Google one: the Google account lets the
member `serviceAccount:PROJECT.svc.id.goog[NAMESPACE/KSA]` act as it (roles/iam.workloadIdentityUser), and the
ServiceAccount carries the annotation `iam.gke.io/gcp-service-account: EMAIL`; the GKE metadata server then
hands the pod short-lived tokens, no key anywhere ("Authenticate to Google Cloud APIs from GKE workloads",
cloud.google.com/kubernetes-engine/docs/how-to/workload-identity). The bucket grant is objectViewer under an
IAM condition on the object names, so the account reads the weights' prefix and nothing else in the bucket
(conditions need uniform bucket-level access, which the bucket has).
Cloud Storage encrypts every object at rest with Google-managed keys; public access prevention is enforced.
"""

from __future__ import annotations

import functools
import re

import pulumi
import pulumi_gcp as gcp

from infra.clouds.children import Children
from infra.settings import Settings
from infra.weights import POD_SERVICE_ACCOUNT
from infra.weights.access import WeightsAccess
from infra.weights.location import WeightsLocation
from infra.weights.stack import host_egress, https_egress, reject_dev_only_keys, require_scheme
from infra.weights.upload import plan_upload, upload

SCHEME = "gs"
READ_ROLE = "roles/storage.objectViewer"
"""Everything the pods' account may do on the bucket: read objects; the policy pack holds it to this."""
ANNOTATION = "iam.gke.io/gcp-service-account"
METADATA_SERVERS = (("169.254.169.254/32", 80), ("169.254.169.252/32", 988))
"""The GKE metadata server, which answers Workload Identity's token requests (Dataplane V2 serves it on 988)."""


def create_weights(
    name: str,
    settings: Settings,
    location: WeightsLocation,
    *,
    project: str,
    region: str,
    children: Children,
) -> WeightsAccess:
    reject_dev_only_keys(settings, "Cloud Storage")
    egress = [https_egress(), *(host_egress(cidr, port) for cidr, port in METADATA_SERVERS)]
    uri = require_scheme(location, SCHEME, "Cloud Storage")
    total = location.total_bytes or 0
    if location.uri is not None and uri is None:
        return WeightsAccess(uri=location.uri.uri, total_bytes=total, version=location.uri.uri, egress=egress)
    uploads: list[pulumi.Resource] = []
    if uri is not None:
        bucket: pulumi.Input[str] = uri.bucket
        prefix, version = uri.prefix, uri.uri
    else:
        assert location.manifest is not None
        plan = plan_upload(location.manifest, settings.weights.key_prefix(settings.model_name))
        bucket = settings.weights.bucket or create_bucket(f"{name}-bucket", project, region, children).name
        uploads = upload(
            name,
            plan,
            children,
            functools.partial(gcp.storage.BucketObject, bucket=bucket),
            key="name",
            text="content",
        )
        prefix, version = plan.prefix, plan.digest
    account = gcp.serviceaccount.Account(
        f"{name}-reader",
        project=project,
        account_id=reader_account_id(pulumi.get_stack()),
        display_name="Liftoff inference pods",
        description="Reads the model's weights, nothing else (GKE Workload Identity)",
        opts=children.opts(),
    )
    trust = gcp.serviceaccount.IAMMember(
        f"{name}-reader-workload-identity",
        service_account_id=account.name,
        role="roles/iam.workloadIdentityUser",
        member=f"serviceAccount:{project}.svc.id.goog[{settings.namespace}/{POD_SERVICE_ACCOUNT}]",
        opts=children.opts(),
    )
    grant = gcp.storage.BucketIAMMember(
        f"{name}-reader-objects",
        bucket=bucket,
        role=READ_ROLE,
        member=account.email.apply(lambda email: f"serviceAccount:{email}"),
        condition=pulumi.Output.from_input(bucket).apply(lambda b: _prefix_condition(b, prefix)),
        opts=children.opts(),
    )
    return WeightsAccess(
        uri=pulumi.Output.concat(f"{SCHEME}://", bucket, "/", prefix),
        total_bytes=total,
        version=version,
        service_account_annotations={ANNOTATION: account.email},
        egress=egress,
        depends_on=[*uploads, trust, grant],
    )


def reader_account_id(stack: str) -> str:
    """6 to 30 characters, lower-case letters, digits and '-', starting with a letter."""
    base = re.sub(r"[^a-z0-9-]", "-", f"liftoff-{stack.lower()}")[:22].rstrip("-")
    return f"{base}-weights"


def bucket_name(project: str, stack: str) -> str:
    """Unique worldwide because the project ID is; 63 characters at most."""
    base = re.sub(r"[^a-z0-9-]", "-", f"{project}-liftoff-{stack.lower()}")[:55].rstrip("-")
    return f"{base}-weights"


def create_bucket(name: str, project: str, region: str, children: Children) -> gcp.storage.Bucket:
    return gcp.storage.Bucket(
        name,
        name=bucket_name(project, pulumi.get_stack()),
        project=project,
        location=region.upper(),
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        labels=dict(children.tags),
        opts=children.opts(),
    )


def _prefix_condition(bucket: str, prefix: str) -> gcp.storage.BucketIAMMemberConditionArgs:
    return gcp.storage.BucketIAMMemberConditionArgs(
        title="liftoff-weights-prefix",
        description="Only the model's weights",
        expression=f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{prefix}")',
    )
