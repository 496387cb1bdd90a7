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
        # Flow logs sampled at half: enough to debug egress, a fraction of the cost of full logs.
        log_config=gcp.compute.SubnetworkLogConfigArgs(
            aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
        ),
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
