"""`GcpPlatform`: the one ComponentResource that owns every Google Cloud resource of the stack."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from infra.clouds.gcp.cluster import create_cluster
from infra.clouds.gcp.identity import create_node_identity
from infra.clouds.gcp.kubeconfig import cluster_kubeconfig
from infra.clouds.gcp.labels import cost_labels
from infra.clouds.gcp.network import create_network
from infra.clouds.gcp.node_pools import NodePools, create_node_pools
from infra.clouds.gcp.registry import ImageRegistry, create_registry
from infra.clouds.gcp.services import enable_services
from infra.settings.gcp import GcpSettings


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
    provider: k8s.Provider

    def __init__(self, name: str, args: GcpPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("liftoff:gcp:Platform", name, None, opts)
        settings = args.gcp
        labels = cost_labels()
        services: list[pulumi.Resource] = list(enable_services(name, settings.project, self))
        network = create_network(name, settings, self, services)
        self.registry = create_registry(name, settings, labels, self, services)
        identity = create_node_identity(name, settings, self.registry.repository, self, services)
        # Cloud NAT before the cluster: private nodes need it to register and pull the first images.
        self.cluster = create_cluster(name, settings, network, labels, self, [*services, network.nat])
        self.node_pools = create_node_pools(name, settings, self.cluster, identity, labels, self)
        self.kubeconfig = cluster_kubeconfig(self.cluster)
        self.provider = k8s.Provider(
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
