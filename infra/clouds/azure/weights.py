"""The model's weights on Azure: a private, encrypted Blob container, the files content-addressed in it, and
a user-assigned managed identity the inference pods use through AKS Workload Identity, with read-only rights
on the weights' prefix.

Workload Identity federates the pods' Kubernetes ServiceAccount with the identity: a federated credential
trusts the cluster's OIDC issuer for the subject `system:serviceaccount:NAMESPACE:KSA`; the ServiceAccount
carries the annotation `azure.workload.identity/client-id` and the pod the label
`azure.workload.identity/use: "true"`, on which AKS's webhook projects a token and sets AZURE_CLIENT_ID,
AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE ("Use Microsoft Entra Workload ID with AKS",
learn.microsoft.com/azure/aks/workload-identity-overview). No SAS token or account key reaches the pod.
The role is Storage Blob Data Reader on the container, with a role-assignment condition on the blob path, so
the identity reads the prefix and nothing else.

The account keeps shared-key access on: the provider's Blob resource uploads with the account key
(pulumi/pulumi-azure-native#3719), and only the deployer holds it.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, containerservice, managedidentity, storage

from infra.clouds.azure.cluster import role_definition_id
from infra.clouds.children import Children
from infra.config_keys import SettingsError
from infra.settings import Settings
from infra.weights import POD_SERVICE_ACCOUNT
from infra.weights.access import WeightsAccess
from infra.weights.location import WeightsLocation
from infra.weights.stack import https_egress, reject_dev_only_keys, require_scheme
from infra.weights.upload import plan_upload, upload

SCHEME = "az"
BLOB_DATA_READER_ROLE = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
"""Storage Blob Data Reader: read and list blobs, nothing else; the policy pack holds the pods to it."""
TOKEN_AUDIENCE = "api://AzureADTokenExchange"  # noqa: S105 (an audience, not a secret)
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"
_CONTAINER_ID = re.compile(
    r"^(?P<account_id>/subscriptions/[^/]+/resourceGroups/(?P<group>[^/]+)/providers/Microsoft\.Storage/"
    r"storageAccounts/(?P<account>[a-z0-9]{3,24}))/blobServices/default/containers/(?P<container>[a-z0-9-]{3,63})$"
)


@dataclass(frozen=True)
class Container:
    id: pulumi.Input[str]
    account: pulumi.Input[str]
    name: pulumi.Input[str]
    group: pulumi.Input[str]


def create_weights(
    name: str,
    settings: Settings,
    location: WeightsLocation,
    *,
    cluster: containerservice.ManagedCluster,
    resource_group_name: pulumi.Input[str],
    region: str,
    subscription_id: pulumi.Input[str],
    children: Children,
) -> WeightsAccess:
    reject_dev_only_keys(settings, "Blob storage")
    egress = [https_egress()]  # the store and Microsoft Entra ID both answer on 443
    uri = require_scheme(location, SCHEME, "Blob storage")
    total = location.total_bytes or 0
    if location.uri is not None and uri is None:
        return WeightsAccess(uri=location.uri.uri, total_bytes=total, version=location.uri.uri, egress=egress)
    uploads: list[pulumi.Resource] = []
    existing = existing_container(settings.weights.bucket, uri.bucket if uri else None)
    if uri is not None:
        if existing is None:
            raise SettingsError(
                "liftoff:weightsBucket",
                f"is required for {uri.uri}: az:// names a container but not its storage account; allowed: the "
                "container's resource id, /subscriptions/.../storageAccounts/<account>/blobServices/default/"
                f"containers/{uri.bucket}",
            )
        container, prefix, version = existing, uri.prefix, uri.uri
    else:
        assert location.manifest is not None
        plan = plan_upload(location.manifest, settings.weights.key_prefix(settings.model_name))
        container = existing or create_container(
            f"{name}-store", resource_group_name, region, subscription_id, children
        )
        uploads = upload(
            name,
            plan,
            children,
            functools.partial(
                storage.Blob,
                account_name=container.account,
                container_name=container.name,
                resource_group_name=container.group,
            ),
            key="blob_name",
            text=None,
        )
        prefix, version = plan.prefix, plan.digest
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-reader",
        resource_group_name=resource_group_name,
        location=region,
        tags=dict(children.tags),
        opts=children.opts(),
    )
    federation = managedidentity.FederatedIdentityCredential(
        f"{name}-reader-federation",
        resource_group_name=resource_group_name,
        resource_name_=identity.name,
        issuer=cluster.oidc_issuer_profile.apply(lambda profile: profile.issuer_url if profile else ""),
        subject=f"system:serviceaccount:{settings.namespace}:{POD_SERVICE_ACCOUNT}",
        audiences=[TOKEN_AUDIENCE],
        opts=children.opts(),
    )
    grant = authorization.RoleAssignment(
        f"{name}-reader-blobs",
        scope=container.id,
        principal_id=identity.principal_id,
        principal_type="ServicePrincipal",
        role_definition_id=role_definition_id(subscription_id, BLOB_DATA_READER_ROLE),
        condition=prefix_condition(prefix),
        condition_version="2.0",
        description="liftoff: the inference pods read the model's weights",
        opts=children.opts(),
    )
    return WeightsAccess(
        uri=pulumi.Output.concat(f"{SCHEME}://", container.name, "/", prefix),
        total_bytes=total,
        version=version,
        service_account_annotations={CLIENT_ID_ANNOTATION: identity.client_id},
        pod_labels={USE_LABEL: "true"},
        # az:// names no account; the Azure clients (adlfs, obstore) read it from here.
        env={"AZURE_STORAGE_ACCOUNT_NAME": container.account},
        egress=egress,
        depends_on=[*uploads, federation, grant],
    )


def existing_container(configured: str | None, uri_container: str | None) -> Container | None:
    """liftoff:weightsBucket on Azure: a blob container's resource id (its account and group come with it)."""
    if configured is None:
        return None
    match = _CONTAINER_ID.fullmatch(configured)
    if match is None or (uri_container is not None and match["container"] != uri_container):
        wanted = f"containers/{uri_container}" if uri_container else "containers/<container>"
        raise SettingsError(
            "liftoff:weightsBucket",
            f"{configured!r} is not a blob container's resource id; allowed: /subscriptions/<id>/resourceGroups/"
            f"<group>/providers/Microsoft.Storage/storageAccounts/<account>/blobServices/default/{wanted}",
        )
    return Container(id=configured, account=match["account"], name=match["container"], group=match["group"])


def account_name(subscription_id: str, stack: str) -> str:
    """3 to 24 lower-case letters and digits, unique worldwide: derived from the subscription and stack."""
    return "liftoffw" + hashlib.sha256(f"{subscription_id}/{stack}".encode()).hexdigest()[:16]


def create_container(
    name: str,
    resource_group_name: pulumi.Input[str],
    region: str,
    subscription_id: pulumi.Input[str],
    children: Children,
) -> Container:
    """No anonymous access, TLS 1.2 over HTTPS only, infrastructure (double) encryption at rest."""
    stack = pulumi.get_stack()
    account = storage.StorageAccount(
        name,
        account_name=pulumi.Output.from_input(subscription_id).apply(lambda sub: account_name(sub, stack)),
        resource_group_name=resource_group_name,
        location=region,
        kind="StorageV2",
        sku={"name": "Standard_LRS"},
        allow_blob_public_access=False,
        enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2",
        encryption={
            "key_source": "Microsoft.Storage",
            "require_infrastructure_encryption": True,
            "services": {"blob": {"enabled": True, "key_type": "Account"}},
        },
        tags=dict(children.tags),
        opts=children.opts(),
    )
    container = storage.BlobContainer(
        f"{name}-weights",
        account_name=account.name,
        resource_group_name=resource_group_name,
        container_name="weights",
        public_access=storage.PublicAccess.NONE,
        opts=children.opts(),
    )
    return Container(id=container.id, account=account.name, name=container.name, group=resource_group_name)


def prefix_condition(prefix: str) -> str:
    """A blob read is allowed only under the prefix (ABAC on the blob path, which excludes the container)."""
    action = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
    path = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path]"
    return f"((!(ActionMatches{{'{action}'}})) OR ({path} StringStartsWith '{prefix}'))"
