"""The resource group and the nodes' network.

Azure CNI overlay: nodes take addresses from the node subnet, pods from `POD_CIDR`, a private range that
never touches the VNet, so the subnet only has to fit the nodes (a /22 fits about a thousand).
"""

from __future__ import annotations

from dataclasses import dataclass

from pulumi_azure_native import network, resources

from infra.clouds.children import Children

VNET_CIDR = "10.42.0.0/16"
NODE_SUBNET_CIDR = "10.42.0.0/22"
# Overlay pod range and service range: neither may overlap the VNet or each other.
POD_CIDR = "192.168.0.0/16"
SERVICE_CIDR = "172.16.0.0/16"
DNS_SERVICE_IP = "172.16.0.10"


@dataclass(frozen=True)
class Network:
    resource_group: resources.ResourceGroup
    vnet: network.VirtualNetwork
    node_subnet: network.Subnet


def create_network(
    name: str,
    *,
    resource_group_name: str,
    location: str,
    children: Children,
) -> Network:
    opts = children.opts()
    group = resources.ResourceGroup(
        f"{name}-rg",
        resource_group_name=resource_group_name,
        location=location,
        tags=dict(children.tags),
        opts=opts,
    )
    vnet = network.VirtualNetwork(
        f"{name}-vnet",
        resource_group_name=group.name,
        location=location,
        address_space={"address_prefixes": [VNET_CIDR]},
        tags=dict(children.tags),
        opts=opts,
    )
    # A separate Subnet (not inline in the VNet) so the cluster can reference its id before the VNet
    # finishes, and a VNet update never rewrites it. Subnets take no tags in Azure.
    subnet = network.Subnet(
        f"{name}-nodes",
        resource_group_name=group.name,
        virtual_network_name=vnet.name,
        address_prefix=NODE_SUBNET_CIDR,
        opts=opts,
    )
    return Network(resource_group=group, vnet=vnet, node_subnet=subnet)
