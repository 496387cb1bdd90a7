"""`GcpPlatform`, the one ComponentResource that owns every Google Cloud resource of the stack, and
`create_platform(settings)`, which builds it and describes it as a `Platform`. GKE installs the NVIDIA driver
and device plugin on GPU nodes and ships metrics-server, so the shared layer installs neither; GPU pods
select the accelerator label and tolerate the GPU taint."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from infra.clouds.children import Children
from infra.clouds.gcp.cluster import create_cluster
from infra.clouds.gcp.identity import create_node_identity
from infra.clouds.gcp.kubeconfig import cluster_kubeconfig
from infra.clouds.gcp.network import allow_control_plane_to_webhooks, create_network
from infra.clouds.gcp.node_pools import ACCELERATOR_LABEL, GPU_TAINT_KEY, NodePools, create_node_pools
from infra.clouds.gcp.registry import ImageRegistry, create_registry
from infra.clouds.gcp.services import enable_services
from infra.clouds.gcp.settings import GcpSettings
from infra.clouds.gcp.tags import cost_tags
from infra.clouds.gcp.weights import create_weights
from infra.clouds.platform import GpuScheduling, Platform, Registry, Toleration
from infra.settings import Settings
from infra.weights.stack import stack_weights

# Exists (not Equal): matches GKE's `present` value and any other it might use; NoSchedule as tainted.
GPU_TOLERATION = Toleration(key=GPU_TAINT_KEY, operator="Exists", effect="NoSchedule")


@dataclass(frozen=True)
class GcpPlatformArgs:
    gcp: GcpSettings
    """The `gcp:*` and `liftoff:gcp*` settings."""


class GcpPlatform(pulumi.ComponentResource):
    """APIs, network, node identity, GKE with a system and a GPU pool, Artifact Registry, a k8s provider."""

    cluster: gcp.container.Cluster
    node_pools: NodePools
    registry: ImageRegistry
    kubeconfig: pulumi.Output[str]
    k8s_provider: k8s.Provider

    def __init__(self, name: str, args: GcpPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("liftoff:gcp:Platform", name, None, opts)
        settings = args.gcp
        children = Children(parent=self, tags=cost_tags())
        services: list[pulumi.Resource] = list(enable_services(name, settings.project, children=children))
        network = create_network(name, settings, children=children, depends_on=services)
        self.registry = create_registry(name, settings, children=children, depends_on=services)
        identity = create_node_identity(
            name, settings, repository=self.registry.repository, children=children, depends_on=services
        )
        # Cloud NAT before the cluster: private nodes need it to register and pull the first images.
        self.cluster = create_cluster(
            name,
            settings,
            network=network,
            children=children,
            depends_on=[*services, network.nat],
            node_account_email=identity.account.email,
        )
        allow_control_plane_to_webhooks(
            name,
            settings,
            network=network,
            cluster=self.cluster,
            node_account_email=identity.account.email,
            children=children,
        )
        self.node_pools = create_node_pools(
            name, settings, cluster=self.cluster, identity=identity, children=children
        )
        self.kubeconfig = cluster_kubeconfig(self.cluster, use_dns_endpoint=settings.dns_endpoint)
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.node_pools.system]),
        )
        self.register_outputs(
            {
                "clusterName": self.cluster.name,
                "kubeconfig": self.kubeconfig,
                "registryUrl": self.registry.url,
            }
        )


def create_platform(settings: Settings) -> Platform:
    gcp_settings = settings.cloud_settings_as(GcpSettings)
    component = GcpPlatform("liftoff", GcpPlatformArgs(gcp=gcp_settings))
    gpu = (
        GpuScheduling(
            node_selector={ACCELERATOR_LABEL: gcp_settings.gpu_accelerator_type},
            tolerations=(GPU_TOLERATION,),
            count=settings.gpu,
        )
        if settings.gpu > 0
        else None
    )
    location = stack_weights(settings)
    weights = (
        create_weights(
            "weights",
            settings,
            location,
            project=gcp_settings.project,
            region=gcp_settings.region,
            children=Children(parent=component, tags=cost_tags()),
        )
        if location is not None
        else None
    )
    return Platform(
        name="gcp",
        cluster_name=component.cluster.name,
        k8s_provider=component.k8s_provider,
        kubeconfig=component.kubeconfig,
        registry=Registry(
            url=component.registry.url,
            username=component.registry.username,
            password=component.registry.password,
        ),
        gpu=gpu,
        install_device_plugin=False,
        install_metrics_server=False,
        # GKE collects DCGM metrics itself; NVIDIA's exporter cannot find the driver where GKE installs it.
        install_dcgm_exporter=False,
        depends_on=(component.node_pools.system, component.node_pools.gpu),
        weights=weights,
    )
