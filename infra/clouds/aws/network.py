"""The VPC: one public and one private subnet per zone, NAT for the private ones.

Nodes live in the private subnets. The public subnets hold only the NAT gateways and the internet-facing load
balancers; the role tags tell the AWS cloud controller where each kind of load balancer may go.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.clouds.aws.settings import AwsSettings
from infra.clouds.aws.tags import cluster_tag_key
from infra.clouds.children import Children

PUBLIC_ELB_ROLE = "kubernetes.io/role/elb"
INTERNAL_ELB_ROLE = "kubernetes.io/role/internal-elb"


@dataclass(frozen=True)
class Network:
    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    private_subnets: list[aws.ec2.Subnet]
    nat_gateways: list[aws.ec2.NatGateway]
    private_routes: list[aws.ec2.RouteTableAssociation]
    """Nodes need these in place (a route to the internet through NAT) before they can join the cluster."""


def subnet_cidrs(vpc_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Private and public CIDRs: the VPC cut in eight equal blocks, private ones first (up to four zones)."""
    network = ipaddress.ip_network(vpc_cidr)
    blocks = [str(block) for block in network.subnets(prefixlen_diff=3)]
    return blocks[:zones], blocks[zones : 2 * zones]


def create_network(
    settings: AwsSettings, *, cluster_name: str, provider: aws.Provider, children: Children
) -> Network:
    opts = children.opts()
    zone_names = _zone_names(settings, provider, children.parent)
    shared = {**children.tags, cluster_tag_key(cluster_name): "shared"}

    vpc = aws.ec2.Vpc(
        "vpc",
        cidr_block=settings.vpc_cidr,
        enable_dns_support=True,
        enable_dns_hostnames=True,  # EKS nodes register by their private DNS names
        tags={**children.tags, "Name": f"{cluster_name}-vpc"},
        opts=opts,
    )
    gateway = aws.ec2.InternetGateway(
        "igw", vpc_id=vpc.id, tags={**children.tags, "Name": f"{cluster_name}-igw"}, opts=opts
    )
    public_table = aws.ec2.RouteTable(
        "public-rt",
        vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
        tags={**children.tags, "Name": f"{cluster_name}-public"},
        opts=opts,
    )

    private_cidrs, public_cidrs = subnet_cidrs(settings.vpc_cidr, settings.availability_zones)
    public_subnets: list[aws.ec2.Subnet] = []
    private_subnets: list[aws.ec2.Subnet] = []
    nat_gateways: list[aws.ec2.NatGateway] = []
    private_routes: list[aws.ec2.RouteTableAssociation] = []
    for index in range(settings.availability_zones):
        zone = zone_names.apply(functools.partial(_pick, index=index))
        public = aws.ec2.Subnet(
            f"public-{index}",
            vpc_id=vpc.id,
            cidr_block=public_cidrs[index],
            availability_zone=zone,
            # Nothing launched here needs a public address of its own: NAT uses an Elastic IP, NLBs their own.
            map_public_ip_on_launch=False,
            tags={**shared, PUBLIC_ELB_ROLE: "1", "Name": f"{cluster_name}-public-{index}"},
            opts=opts,
        )
        aws.ec2.RouteTableAssociation(
            f"public-{index}", subnet_id=public.id, route_table_id=public_table.id, opts=opts
        )
        public_subnets.append(public)
        private_subnets.append(
            aws.ec2.Subnet(
                f"private-{index}",
                vpc_id=vpc.id,
                cidr_block=private_cidrs[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**shared, INTERNAL_ELB_ROLE: "1", "Name": f"{cluster_name}-private-{index}"},
                opts=opts,
            )
        )

    # One NAT gateway for all zones in dev (about 33 USD a month each, plus traffic), one per zone when asked
    # so that losing a zone does not cut the other zones' nodes off the internet.
    nat_count = settings.availability_zones if settings.nat_per_az else 1
    for index in range(nat_count):
        address = aws.ec2.Eip(
            f"nat-{index}",
            domain="vpc",
            tags={**children.tags, "Name": f"{cluster_name}-nat-{index}"},
            opts=opts,
        )
        nat_gateways.append(
            aws.ec2.NatGateway(
                f"nat-{index}",
                allocation_id=address.id,
                subnet_id=public_subnets[index].id,
                tags={**children.tags, "Name": f"{cluster_name}-nat-{index}"},
                opts=children.opts(depends_on=[gateway]),
            )
        )
    for index, subnet in enumerate(private_subnets):
        nat = nat_gateways[index % nat_count]
        table = aws.ec2.RouteTable(
            f"private-rt-{index}",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
            tags={**children.tags, "Name": f"{cluster_name}-private-{index}"},
            opts=opts,
        )
        private_routes.append(
            aws.ec2.RouteTableAssociation(
                f"private-{index}", subnet_id=subnet.id, route_table_id=table.id, opts=opts
            )
        )
    return Network(vpc, public_subnets, private_subnets, nat_gateways, private_routes)


EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})
"""Zone IDs where EKS refuses to create a cluster's subnets (EKS user guide, "View Amazon EKS networking
requirements for VPC and subnets", read 2026-12-07). Names map to IDs differently in every account: IDs."""


def choose_zones(
    names: list[str], zone_ids: list[str], gpu_zone_ids: set[str] | None, count: int
) -> list[tuple[str, str]]:
    """`count` (name, id) pairs: never a zone EKS refuses, zones offering the GPU type first (when one is
    asked for), then by ID so the choice is stable."""
    usable = [
        (name, zid) for name, zid in zip(names, zone_ids, strict=True) if zid not in EKS_UNSUPPORTED_ZONE_IDS
    ]
    if len(usable) < count:
        raise ValueError(
            f"liftoff:awsAvailabilityZones asks for {count} zones but the region offers {len(usable)} EKS can "
            f"use ({', '.join(z for _, z in usable)}); allowed: at most {len(usable)}"
        )
    ranked = sorted(
        usable, key=lambda zone: (gpu_zone_ids is not None and zone[1] not in gpu_zone_ids, zone[1])
    )
    return ranked[:count]


def _zone_names(
    settings: AwsSettings, provider: aws.Provider, parent: pulumi.Resource
) -> pulumi.Output[list[str]]:
    opts = pulumi.InvokeOutputOptions(parent=parent, provider=provider)
    zones = aws.get_availability_zones_output(
        state="available",
        # Local and Wavelength zones need an opt-in and cannot host EKS nodes.
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
        opts=opts,
    )
    pool = settings.gpu_pool
    gpu_zone_ids: pulumi.Output[list[str]] | None = None
    if pool is not None:
        gpu_zone_ids = aws.ec2.get_instance_type_offerings_output(
            location_type="availability-zone-id",
            filters=[
                aws.ec2.GetInstanceTypeOfferingsFilterArgs(
                    name="instance-type", values=[pool.instance_types[0]]
                )
            ],
            opts=opts,
        ).locations

    def pick(answer: list[Any]) -> list[str]:
        names, ids, offered = answer
        chosen = choose_zones(
            list(names), list(ids), None if offered is None else set(offered), settings.availability_zones
        )
        return [name for name, _ in chosen]

    return pulumi.Output.all(zones.names, zones.zone_ids, gpu_zone_ids).apply(pick)


def _pick(names: list[str], index: int) -> str:
    return names[index]
