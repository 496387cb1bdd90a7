"""The VPC: one subnetwork with secondary ranges for pods and services, and Cloud NAT for private nodes.

Nodes have no public addresses (private cluster), so Cloud NAT is their only way out (image pulls from
outside Google, the model download if any). Private Google Access lets them reach Google APIs, Artifact
Registry included, without NAT.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.clouds.children import Children
from infra.clouds.gcp.settings import GcpSettings

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


@dataclass(frozen=True)
class Network:
    network: gcp.compute.Network
    subnetwork: gcp.compute.Subnetwork
    router: gcp.compute.Router
    nat: gcp.compute.RouterNat


def create_network(
    name: str, settings: GcpSettings, *, children: Children, depends_on: list[pulumi.Resource]
) -> Network:
    opts = children.opts(depends_on=depends_on)
    network = gcp.compute.Network(
        f"{name}-vpc",
        project=settings.project,
        auto_create_subnetworks=False,
        routing_mode="REGIONAL",
        description="Liftoff: GKE nodes, pods and services",
        opts=opts,
    )
    subnetwork = gcp.compute.Subnetwork(
        f"{name}-subnet",
        project=settings.project,
        region=settings.region,
        network=network.id,
        ip_cidr_range=settings.subnet_cidr,
        secondary_ip_ranges=[
            gcp.compute.SubnetworkSecondaryIpRangeArgs(
                range_name=PODS_RANGE, ip_cidr_range=settings.pods_cidr
            ),
            gcp.compute.SubnetworkSecondaryIpRangeArgs(
                range_name=SERVICES_RANGE, ip_cidr_range=settings.services_cidr
            ),
        ],
        private_ip_google_access=True,
        # Flow logs bill per GiB: off unless asked, then coarse and sampled (enough to see who talks to whom).
        log_config=gcp.compute.SubnetworkLogConfigArgs(
            aggregation_interval="INTERVAL_10_MIN", flow_sampling=0.1, metadata="EXCLUDE_ALL_METADATA"
        )
        if settings.flow_logs
        else None,
        opts=opts,
    )
    router = gcp.compute.Router(
        f"{name}-router",
        project=settings.project,
        region=settings.region,
        network=network.id,
        opts=opts,
    )
    nat = gcp.compute.RouterNat(
        f"{name}-nat",
        project=settings.project,
        region=settings.region,
        router=router.name,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
        opts=opts,
    )
    return Network(network=network, subnetwork=subnetwork, router=router, nat=nat)


# KEDA's metrics server (6443, behind the external-metrics API) and its admission webhooks (9443) are called by
# the control plane on the pods' own ports; with private nodes GKE's automatic rules open only 443 and 10250
# from the control plane, so the queue-depth and latency triggers would never answer without this rule.
CONTROL_PLANE_TO_POD_PORTS = ("6443", "9443")


def allow_control_plane_to_webhooks(
    name: str,
    settings: GcpSettings,
    *,
    network: Network,
    cluster: gcp.container.Cluster,
    node_account_email: pulumi.Input[str],
    children: Children,
) -> gcp.compute.Firewall:
    """Ingress from the control plane's private endpoint to the nodes (their service account), on
    CONTROL_PLANE_TO_POD_PORTS only."""
    source = cluster.private_cluster_config.apply(_control_plane_range)
    return gcp.compute.Firewall(
        f"{name}-control-plane-webhooks",
        project=settings.project,
        network=network.network.self_link,
        description="Liftoff: GKE control plane to KEDA's metrics server and webhooks",
        direction="INGRESS",
        source_ranges=[source],
        target_service_accounts=[node_account_email],
        allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=list(CONTROL_PLANE_TO_POD_PORTS))],
        opts=children.opts(depends_on=[cluster]),
    )


def _control_plane_range(config: gcp.container.outputs.ClusterPrivateClusterConfig | None) -> str:
    """The control plane's range: its /28 when it has one (VPC peering), else its private endpoint's /32
    (Private Service Connect, this cluster's kind)."""
    if config is not None and config.master_ipv4_cidr_block:
        return config.master_ipv4_cidr_block
    if config is None or not config.private_endpoint:
        raise ValueError("the GKE cluster reports no private endpoint (privateClusterConfig.privateEndpoint)")
    return f"{config.private_endpoint}/32"
