"""The `azure` platform: AKS with a system pool and an autoscaled GPU pool, ACR, in one resource group.

`AzurePlatform` (type `liftoff:azure:Platform`) owns every Azure resource; the files beside this one each
build one part of it: network, cluster, node pools, registry (with the push-token exchange), kubeconfig.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import authorization, containerservice

from infra.clouds.azure.cluster import create_cluster
from infra.clouds.azure.kubeconfig import user_kubeconfig
from infra.clouds.azure.network import create_network
from infra.clouds.azure.node_pools import create_gpu_pool, gpu_scheduling
from infra.clouds.azure.propagation import RolePropagation
from infra.clouds.azure.registry import ImageRegistry, create_registry
from infra.clouds.azure.settings import AzureSettings
from infra.clouds.azure.tags import cost_tags
from infra.clouds.azure.weights import create_weights
from infra.clouds.children import Children
from infra.clouds.platform import Platform
from infra.settings import Settings
from infra.weights.stack import stack_weights

__all__ = ["AzurePlatform", "AzurePlatformArgs", "create_platform"]

# The ingress controller's LoadBalancer Service: Azure probes each port over TCP unless told otherwise by
# the port's appProtocol; say TCP outright, so an HTTP probe of `/` (a 404 at the proxy) never marks the
# nodes down whatever the chart sets.
INGRESS_ANNOTATIONS = {"service.beta.kubernetes.io/azure-load-balancer-health-probe-protocol": "tcp"}
LB_IDLE_TIMEOUT_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout"
"""Minutes (4 to 100; Azure's default 4) the load balancer keeps a connection that sends nothing."""


def ingress_annotations(settings: Settings) -> dict[str, str]:
    """Scaling to zero, a request waits silently through the cold start: Azure's default 4 minutes would
    reset it first, so the load balancer waits a minute longer than the hold."""
    if not settings.scales_to_zero:
        return dict(INGRESS_ANNOTATIONS)
    minutes = max(4, min(100, math.ceil(settings.scale_to_zero.cold_start_timeout_s / 60) + 1))
    return {**INGRESS_ANNOTATIONS, LB_IDLE_TIMEOUT_ANNOTATION: str(minutes)}


@dataclass(frozen=True)
class AzurePlatformArgs:
    azure: AzureSettings
    """The `liftoff:azure*` settings."""
    gpus_per_pod: int
    """GPUs per inference pod; 0 means no GPU pool and the service runs on the system pool."""


class AzurePlatform(pulumi.ComponentResource):
    """Resource group, VNet, AKS (system pool inline, GPU pool beside it), ACR, the Kubernetes provider."""

    cluster: containerservice.ManagedCluster
    gpu_pool: containerservice.AgentPool | None
    registry: ImageRegistry
    kubeconfig: pulumi.Output[str]
    k8s_provider: k8s.Provider
    cluster_name: str
    resource_group_name: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    ready: list[pulumi.Resource]
    """What the workload waits for: the cluster and its pools, and the roles that let the deployer in, the
    nodes pull the image and the cluster manage its load balancers."""

    def __init__(
        self, name: str, args: AzurePlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("liftoff:azure:Platform", name, None, opts)
        settings = args.azure
        children = Children(parent=self, tags=cost_tags())
        stack = pulumi.get_stack()
        self.cluster_name = f"{settings.name_prefix}-{stack}"
        client = authorization.get_client_config_output()

        network = create_network(
            name,
            resource_group_name=f"{settings.name_prefix}-{stack}",
            location=settings.location,
            children=children,
        )
        self.resource_group_name = network.resource_group.name
        self.subscription_id = client.apply(lambda c: c.subscription_id)
        built = create_cluster(
            f"{name}-aks",
            settings=settings,
            cluster_name=self.cluster_name,
            network=network,
            client=client,
            children=children,
        )
        self.cluster = built.cluster
        self.gpu_pool = None
        if args.gpus_per_pod > 0:
            self.gpu_pool = create_gpu_pool(
                f"{name}-gpu",
                settings=settings,
                resource_group_name=network.resource_group.name,
                cluster_name=self.cluster.name,
                subnet_id=network.node_subnet.id,
                children=children,
                depends_on=[self.cluster],
            )
        self.registry = create_registry(
            f"{name}-acr",
            settings=settings,
            resource_group_name=network.resource_group.name,
            kubelet_object_id=self.cluster.identity_profile.apply(_kubelet_object_id),
            client=client,
            children=children,
        )
        self.kubeconfig = user_kubeconfig(self.cluster, network.resource_group.name)
        # The deployer's AKS RBAC Cluster Admin is used by the first Helm release seconds later, and the
        # cluster identity's Network Contributor by the cloud controller wiring Traefik's load balancer in the
        # same release: both wait, or the atomic install times out on a 403.
        admin_propagation = RolePropagation(
            f"{name}-admin-propagation",
            assignments=[a for a in (built.admin_assignment, built.subnet_assignment) if a is not None],
            opts=children.opts(),
        )
        self.ready = [
            resource
            for resource in (
                self.cluster,
                self.gpu_pool,
                built.admin_assignment,
                built.subnet_assignment,
                admin_propagation,
                self.registry.kubelet_pull,
            )
            if resource is not None
        ]
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.ready),
        )
        self.register_outputs(
            {
                "clusterName": self.cluster.name,
                "resourceGroup": network.resource_group.name,
                "registry": self.registry.registry.login_server,
                "oidcIssuerUrl": self.cluster.oidc_issuer_profile.apply(
                    lambda profile: profile.issuer_url if profile else None
                ),
                "kubeconfig": self.kubeconfig,
            }
        )


def _kubelet_object_id(
    profile: Mapping[str, containerservice.outputs.UserAssignedIdentityManagedClusterResponse] | None,
) -> str:
    """The object id of the identity the nodes pull images with (AKS creates it as `kubeletidentity`)."""
    kubelet = (profile or {}).get("kubeletidentity")
    if kubelet is None or not kubelet.object_id:
        raise ValueError("the AKS cluster reports no kubelet identity (identityProfile.kubeletidentity)")
    return kubelet.object_id


def create_platform(settings: Settings) -> Platform:
    azure = settings.cloud_settings_as(AzureSettings)
    component = AzurePlatform("azure", AzurePlatformArgs(azure=azure, gpus_per_pod=settings.gpu))
    location = stack_weights(settings)
    weights = (
        create_weights(
            "weights",
            settings,
            location,
            cluster=component.cluster,
            resource_group_name=component.resource_group_name,
            region=azure.location,
            subscription_id=component.subscription_id,
            children=Children(parent=component, tags=cost_tags()),
        )
        if location is not None
        else None
    )
    return Platform(
        name="azure",
        cluster_name=component.cluster.name,
        k8s_provider=component.k8s_provider,
        kubeconfig=component.kubeconfig,
        registry=component.registry.push_credentials,
        gpu=gpu_scheduling(azure, settings.gpu) if component.gpu_pool is not None else None,
        # AKS installs the NVIDIA driver, not the device plugin; AKS ships metrics-server itself.
        install_device_plugin=component.gpu_pool is not None,
        install_metrics_server=False,
        ingress_annotations=ingress_annotations(settings),
        depends_on=tuple(component.ready),
        weights=weights,
    )
