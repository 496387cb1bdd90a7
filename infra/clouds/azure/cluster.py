"""The AKS cluster: managed identity, Entra ID with Azure RBAC, no local accounts, CNI overlay with a
network policy engine, OIDC issuer and workload identity, automatic patch upgrades.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, containerservice

from infra.clouds.azure import network as net
from infra.clouds.azure.node_pools import system_pool_profile
from infra.clouds.azure.settings import AzureSettings
from infra.clouds.children import Children

# Built-in role "Azure Kubernetes Service RBAC Cluster Admin": every Kubernetes action in the cluster.
AKS_RBAC_CLUSTER_ADMIN_ROLE = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
# Built-in role "Network Contributor": what the cluster's identity needs on a subnet it did not create.
NETWORK_CONTRIBUTOR_ROLE = "4d97b98b-1d4f-4787-a291-c67834d212e7"


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    """The full id of a built-in role, as role assignments want it."""
    return pulumi.Output.concat(
        "/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", role
    )


@dataclass(frozen=True)
class Cluster:
    cluster: containerservice.ManagedCluster
    admin_assignment: authorization.RoleAssignment | None
    """The deployer's cluster-admin role: the Kubernetes provider must wait for it."""
    subnet_assignment: authorization.RoleAssignment
    """The cluster identity's Network Contributor role on the node subnet (load balancers, NSGs)."""


def create_cluster(
    name: str,
    *,
    settings: AzureSettings,
    cluster_name: str,
    network: net.Network,
    client: pulumi.Output[authorization.GetClientConfigResult],
    children: Children,
) -> Cluster:
    opts = children.opts()
    network_profile: containerservice.ContainerServiceNetworkProfileArgsDict = {
        "network_plugin": "azure",
        "network_plugin_mode": "overlay",
        "network_policy": settings.network_policy,
        "pod_cidr": net.POD_CIDR,
        "service_cidr": net.SERVICE_CIDR,
        "dns_service_ip": net.DNS_SERVICE_IP,
        "load_balancer_sku": "standard",
        "outbound_type": "loadBalancer",
    }
    if settings.network_policy == "cilium":
        # Cilium as the policy engine requires Cilium as the dataplane (Azure CNI powered by Cilium).
        network_profile["network_dataplane"] = "cilium"
    aad_profile: containerservice.ManagedClusterAADProfileArgsDict = {
        "managed": True,
        "enable_azure_rbac": True,
        "tenant_id": client.apply(lambda c: c.tenant_id),
        "admin_group_object_ids": list(settings.admin_group_object_ids),
    }
    cluster = containerservice.ManagedCluster(
        name,
        resource_name_=cluster_name,
        resource_group_name=network.resource_group.name,
        location=settings.location,
        dns_prefix=cluster_name,
        kubernetes_version=settings.kubernetes_version,
        sku={"name": "Base", "tier": "Free"},
        # The control plane's identity is Azure-managed: no service principal secret to store or rotate.
        identity={"type": containerservice.ResourceIdentityType.SYSTEM_ASSIGNED},
        enable_rbac=True,
        aad_profile=aad_profile,
        # Only Entra ID identities reach the API server; settings guarantee someone is admin (the deployer
        # through the role below, or the admin groups), so the static admin certificate can go.
        disable_local_accounts=True,
        oidc_issuer_profile={"enabled": True},
        security_profile={"workload_identity": {"enabled": True}},
        auto_upgrade_profile={"upgrade_channel": "patch", "node_os_upgrade_channel": "NodeImage"},
        network_profile=network_profile,
        api_server_access_profile={"authorized_ip_ranges": list(settings.api_authorized_ip_ranges)},
        agent_pool_profiles=[system_pool_profile(settings, network.node_subnet.id, dict(children.tags))],
        tags=dict(children.tags),
        # The autoscaler owns the system pool's node count; a refresh must not turn it into a diff.
        opts=pulumi.ResourceOptions(parent=children.parent, ignore_changes=["agentPoolProfiles[0].count"]),
    )
    subscription_id = client.apply(lambda c: c.subscription_id)
    # `az aks create` grants this itself for a bring-your-own subnet; through the API it is ours to grant.
    subnet_assignment = authorization.RoleAssignment(
        f"{name}-subnet-network",
        scope=network.node_subnet.id,
        principal_id=cluster.identity.apply(_principal_id),
        principal_type="ServicePrincipal",
        role_definition_id=role_definition_id(subscription_id, NETWORK_CONTRIBUTOR_ROLE),
        description="liftoff: the AKS cluster identity manages its load balancers in the node subnet",
        opts=opts,
    )
    admin_assignment = None
    if settings.grant_deployer_roles:
        admin_assignment = authorization.RoleAssignment(
            f"{name}-deployer-admin",
            scope=cluster.id,
            principal_id=client.apply(lambda c: c.object_id),
            principal_type=settings.deployer_principal_type,
            role_definition_id=role_definition_id(subscription_id, AKS_RBAC_CLUSTER_ADMIN_ROLE),
            description="liftoff: the identity running pulumi up administers the cluster it created",
            opts=opts,
        )
    return Cluster(cluster=cluster, admin_assignment=admin_assignment, subnet_assignment=subnet_assignment)


def _principal_id(identity: containerservice.outputs.ManagedClusterIdentityResponse | None) -> str:
    if identity is None or not identity.principal_id:
        raise ValueError("the AKS cluster reports no system-assigned identity (identity.principalId)")
    return identity.principal_id
