"""Clusters enforce NetworkPolicy and keep their nodes off the public internet."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from liftoff_policies.rule import Props, Resource, ResourceRule, StackRule, dig

NETWORK_POLICY_ENGINES = {"azure", "calico", "cilium"}


def check(resource_type: str, props: Props) -> Iterator[str]:
    if resource_type == "gcp:container/cluster:Cluster":
        if dig(props, "privateClusterConfig", "enablePrivateNodes") is not True:
            yield "GKE nodes have public IPs: set privateClusterConfig.enablePrivateNodes = true (Cloud NAT for egress)."
        dataplane_v2 = props.get("datapathProvider") == "ADVANCED_DATAPATH"
        if not dataplane_v2 and dig(props, "networkPolicy", "enabled") is not True:
            yield "GKE does not enforce NetworkPolicy: set datapathProvider = ADVANCED_DATAPATH (Dataplane V2)."
    elif resource_type == "azure-native:containerservice:ManagedCluster":
        if dig(props, "networkProfile", "networkPolicy") not in NETWORK_POLICY_ENGINES:
            yield (
                "AKS does not enforce NetworkPolicy: set networkProfile.networkPolicy to cilium, azure or calico."
            )
        for pool in props.get("agentPoolProfiles") or []:
            if pool.get("enableNodePublicIP") is True:
                yield f"AKS agent pool {pool.get('name')!r} gives nodes public IPs: set enableNodePublicIP = false."
    elif (
        resource_type == "azure-native:containerservice:AgentPool" and props.get("enableNodePublicIP") is True
    ):
        yield "The AKS agent pool gives nodes public IPs: set enableNodePublicIP = false."


def _vpc_cni_enforces_policy(addon: Resource) -> bool:
    raw = addon.props.get("configurationValues")
    try:
        values = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except ValueError:
        return False
    return str(values.get("enableNetworkPolicy", "")).lower() == "true"


def check_eks(resources: Sequence[Resource]) -> Iterator[str]:
    clusters = [r for r in resources if r.type == "aws:eks/cluster:Cluster"]
    addons = [
        r for r in resources if r.type == "aws:eks/addon:Addon" and r.props.get("addonName") == "vpc-cni"
    ]
    if clusters and not any(_vpc_cni_enforces_policy(a) for a in addons):
        yield (
            "EKS does not enforce NetworkPolicy: install the vpc-cni add-on with configurationValues "
            '{"enableNetworkPolicy": "true"}.'
        )
    for group in (r for r in resources if r.type == "aws:eks/nodeGroup:NodeGroup"):
        for subnet in group.property_dependencies.get("subnetIds", ()):
            if subnet.type == "aws:ec2/subnet:Subnet" and subnet.props.get("mapPublicIpOnLaunch") is True:
                yield (
                    f"EKS node group {group.name!r} uses subnet {subnet.name!r}, which gives instances public IPs: "
                    "put nodes in private subnets (NAT for egress)."
                )


RULE = ResourceRule(
    name="clusters-network-policy-private-nodes",
    description="GKE and AKS clusters enforce NetworkPolicy and give nodes no public IPs.",
    check=check,
)
EKS_RULE = StackRule(
    name="eks-network-policy-private-nodes",
    description="EKS enforces NetworkPolicy (vpc-cni) and runs node groups in private subnets.",
    check=check_eks,
)
