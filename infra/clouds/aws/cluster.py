"""The EKS control plane: secrets encrypted with our KMS key, API authentication through access entries,
control-plane logs, the OIDC provider, and the managed add-ons at EKS's default versions for the minor."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.clouds.aws import iam
from infra.clouds.aws.kubeconfig import field
from infra.clouds.aws.network import Network
from infra.clouds.aws.settings import AwsSettings
from infra.clouds.children import Children

CONTROL_PLANE_LOG_RETENTION_DAYS = 30
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# SHA-1 of the root CA that signs every EKS OIDC issuer's certificate. IAM validates EKS issuers against its
# own trusted CAs and no longer relies on this value, but the API still stores one.
EKS_OIDC_ROOT_CA_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
# Add-ons whose pods are DaemonSets on every node: installed before the node groups, because a node only
# turns Ready with the VPC CNI, and the Pod Identity agent must run before pods ask it for credentials.
NODE_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# Add-ons with Deployments: they need schedulable nodes, so they wait for the system pool.
WORKLOAD_ADDONS = ("coredns", "aws-ebs-csi-driver")
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
# Add-on settings beyond the defaults. The VPC CNI enforces NetworkPolicy only when asked to (its node agent
# then programs eBPF rules), and the inference service relies on its NetworkPolicy.
ADDON_CONFIGURATION: dict[str, dict[str, str]] = {"vpc-cni": {"enableNetworkPolicy": "true"}}


@dataclass(frozen=True)
class ControlPlane:
    cluster: aws.eks.Cluster
    secrets_key: aws.kms.Key
    oidc_provider: aws.iam.OpenIdConnectProvider
    admin_access: aws.eks.AccessPolicyAssociation
    node_addons: list[aws.eks.Addon]


def create_control_plane(
    settings: AwsSettings,
    *,
    cluster_name: str,
    network: Network,
    admin_principal_arn: pulumi.Input[str],
    children: Children,
) -> ControlPlane:
    opts = children.opts()
    secrets_key = aws.kms.Key(
        "eks-secrets",
        description=f"Envelope encryption of Kubernetes secrets in EKS cluster {cluster_name}",
        enable_key_rotation=True,
        deletion_window_in_days=7,
        tags=dict(children.tags),
        opts=opts,
    )
    aws.kms.Alias(
        "eks-secrets", name=f"alias/{cluster_name}-eks-secrets", target_key_id=secrets_key.key_id, opts=opts
    )
    cluster_role = iam.role(
        "eks-cluster",
        service="eks.amazonaws.com",
        managed_policies=iam.CLUSTER_POLICIES,
        description=f"EKS control plane of {cluster_name}",
        children=children,
    )
    kms_grant = aws.iam.RolePolicy(
        "eks-cluster-kms",
        role=cluster_role.name,
        policy=secrets_key.arn.apply(iam.kms_use_policy),
        opts=opts,
    )
    # EKS writes control-plane logs to this group; made here (rather than by EKS on first write) so it has a
    # retention and `pulumi destroy` removes it instead of leaving it to bill forever.
    control_plane_logs = aws.cloudwatch.LogGroup(
        "eks-control-plane",
        name=f"/aws/eks/{cluster_name}/cluster",
        retention_in_days=CONTROL_PLANE_LOG_RETENTION_DAYS,
        tags=dict(children.tags),
        opts=opts,
    )
    public = settings.endpoint_access != "private"
    # restricted: the public endpoint answers only the listed networks; public: anyone (IAM still decides).
    public_cidrs = (
        list(settings.endpoint_public_cidrs) if settings.endpoint_access == "restricted" else ["0.0.0.0/0"]
    )
    cluster = aws.eks.Cluster(
        "cluster",
        name=cluster_name,
        version=settings.kubernetes_version,
        # STANDARD: at the end of standard support EKS upgrades the cluster instead of billing extended
        # support silently; EXTENDED only when the stack says it will pay for it.
        upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(
            support_type="EXTENDED" if settings.allow_extended_support else "STANDARD"
        ),
        role_arn=cluster_role.arn,
        access_config=aws.eks.ClusterAccessConfigArgs(
            authentication_mode="API",
            # The deployer gets its access entry below, as a resource we can see and delete; the implicit
            # creator entry would collide with it.
            bootstrap_cluster_creator_admin_permissions=False,
        ),
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=[s.id for s in network.private_subnets + network.public_subnets],
            endpoint_private_access=True,
            endpoint_public_access=public,
            public_access_cidrs=public_cidrs if public else None,
        ),
        enabled_cluster_log_types=list(settings.control_plane_logs),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
            resources=["secrets"],
        ),
        tags=dict(children.tags),
        opts=pulumi.ResourceOptions(
            parent=children.parent, depends_on=[kms_grant, control_plane_logs, *network.private_routes]
        ),
    )

    admin_entry = aws.eks.AccessEntry(
        "deployer",
        cluster_name=cluster.name,
        principal_arn=admin_principal_arn,
        type="STANDARD",
        tags=dict(children.tags),
        opts=opts,
    )
    admin_access = aws.eks.AccessPolicyAssociation(
        "deployer-admin",
        cluster_name=cluster.name,
        principal_arn=admin_entry.principal_arn,
        policy_arn=CLUSTER_ADMIN_POLICY,
        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
        opts=opts,
    )

    oidc_provider = aws.iam.OpenIdConnectProvider(
        "eks-oidc",
        url=cluster.identities.apply(_oidc_issuer),
        client_id_lists=["sts.amazonaws.com"],
        thumbprint_lists=[EKS_OIDC_ROOT_CA_THUMBPRINT],
        tags=dict(children.tags),
        opts=opts,
    )
    node_addons = create_addons(
        NODE_ADDONS, settings, cluster=cluster, children=children, depends_on=[admin_access]
    )
    return ControlPlane(cluster, secrets_key, oidc_provider, admin_access, node_addons)


def create_addons(
    names: Sequence[str],
    settings: AwsSettings,
    *,
    cluster: aws.eks.Cluster,
    children: Children,
    depends_on: Sequence[pulumi.Resource] = (),
    pod_identities: Mapping[str, tuple[str, aws.iam.Role]] | None = None,
) -> list[aws.eks.Addon]:
    """EKS managed add-ons at the default version EKS gives for the cluster's Kubernetes minor.

    `pod_identities` maps an add-on to (service account, role): that account gets the role via Pod Identity.
    """
    identities = pod_identities or {}
    addons = []
    for name in names:
        identity = identities.get(name)
        addons.append(
            aws.eks.Addon(
                name,
                cluster_name=cluster.name,
                addon_name=name,
                # The version EKS itself gives as the default for this cluster's minor: no row to keep by hand.
                addon_version=aws.eks.get_addon_version_output(
                    addon_name=name,
                    kubernetes_version=cluster.version,
                    most_recent=False,
                    opts=children.invoke(),
                ).version,
                configuration_values=json.dumps(ADDON_CONFIGURATION[name])
                if name in ADDON_CONFIGURATION
                else None,
                # EKS installs its own copies of some at creation; the managed add-on takes them over.
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                pod_identity_associations=[
                    aws.eks.AddonPodIdentityAssociationArgs(
                        service_account=identity[0], role_arn=identity[1].arn
                    )
                ]
                if identity is not None
                else None,
                tags=dict(children.tags),
                opts=pulumi.ResourceOptions(parent=children.parent, depends_on=list(depends_on)),
            )
        )
    return addons


def _oidc_issuer(identities: Sequence[aws.eks.outputs.ClusterIdentity] | None) -> str:
    oidcs = field(identities[0], "oidcs") if identities else None
    issuer = field(oidcs[0], "issuer") if oidcs else None
    if not issuer:
        raise ValueError("the EKS cluster reports no OIDC issuer")
    return str(issuer)
