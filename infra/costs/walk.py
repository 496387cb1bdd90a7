"""Read what a plan holds into what costs money: node pools, the control plane, NAT, load balancer, registry,
logs. Each cloud's resource types have one reader here, found by the type token, so a setting that changes a
resource changes its line.

A resource is (type, name, inputs). The offline plan records inputs as Pulumi sends them (camelCase); the
program's own walk during `pulumi preview` sees the SDK's Python names (snake_case). Keys are compared
lowercased without underscores, so both read the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GPU_RESOURCE = "nvidia.com/gpu"
PUBLIC_ELB_ROLE = "kubernetes.io/role/elb"
AUTOSCALER_GPU_TAG = f"k8s.io/cluster-autoscaler/node-template/resources/{GPU_RESOURCE}"


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]


def resource(type_: str, name: str, inputs: Mapping[str, Any]) -> Resource:
    return Resource(type_, name, _normalize(dict(inputs)))


def _normalize(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_key(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    return value


def _key(key: Any) -> str:
    return str(key).replace("_", "").lower()


def get(value: Any, path: str, default: Any = None) -> Any:
    """`get(inputs, "scalingConfig.minSize")`: a dotted path of keys, compared as `_key` does."""
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return default
        value = value.get(_key(part))
    return default if value is None else value


@dataclass(frozen=True)
class Pool:
    role: str
    """"system" or "gpu"."""
    instance_type: str
    spot: bool
    min_nodes: int
    max_nodes: int
    disk_gb: int | None
    disk_item: str
    gpus_per_node: int | None


@dataclass(frozen=True)
class Fixed:
    """Something billed by the hour whatever the load: count units of item."""

    group: str
    item: str
    count: int
    what: str


@dataclass(frozen=True)
class PerNode:
    """Billed per running node (Cloud NAT's per-VM charge)."""

    group: str
    item: str
    what: str


@dataclass(frozen=True)
class Stored:
    group: str
    item: str
    what: str


@dataclass(frozen=True)
class Usage:
    """Billed by use (per GB ingested): shown with its unit price, never added to a total."""

    group: str
    item: str
    what: str


@dataclass
class Holdings:
    """What the plan holds that costs money, for one stack."""

    cloud: str | None = None
    region: str | None = None
    control_plane: Fixed | None = None
    pools: list[Pool] = field(default_factory=list)
    fixed: list[Fixed] = field(default_factory=list)
    per_node: list[PerNode] = field(default_factory=list)
    stored: list[Stored] = field(default_factory=list)
    usage: list[Usage] = field(default_factory=list)
    load_balancer: str | None = None
    """The price item of the load balancer in front of the ingress, when there is one."""
    zones: set[str] = field(default_factory=set)
    """The public subnets an internet-facing load balancer spreads over, one per zone."""
    # The workload, read from the Kubernetes objects and the image build: the same for every cloud.
    min_replicas: int = 1
    max_replicas: int = 1
    gpus_per_pod: int = 0
    image_variant: str | None = None
    scaledown_period_s: int | None = None
    node_unneeded_s: int | None = None
    timeouts: dict[str, int] = field(default_factory=dict)
    """Name -> seconds of each timeout the plan sets on a request's wait through a cold start."""

    def gpu_nodes_for(self, replicas: int, pool: Pool) -> int:
        if replicas <= 0:
            return pool.min_nodes
        per_node = max(1, (pool.gpus_per_node or 1) // max(1, self.gpus_per_pod))
        return min(pool.max_nodes, max(pool.min_nodes, math.ceil(replicas / per_node)))


Reader = Callable[[Resource, Holdings, list[Resource]], None]


def _seconds(text: Any) -> int | None:
    """ "605s", "10m", 600 -> seconds."""
    if isinstance(text, int | float):
        return int(text)
    if not isinstance(text, str) or not text:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    if text[-1] in units and text[:-1].isdigit():
        return int(text[:-1]) * units[text[-1]]
    return int(text) if text.isdigit() else None


# --- aws -------------------------------------------------------------------------------------------------


def _aws_provider(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.cloud, h.region = "aws", get(r.inputs, "region") or h.region


def _aws_cluster(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.cloud = "aws"
    support = str(get(r.inputs, "upgradePolicy.supportType", "EXTENDED"))
    what = "EKS control plane, standard support"
    if support == "EXTENDED":
        what += " ($0.60/h once the version leaves standard support: upgradePolicy EXTENDED)"
    h.control_plane = Fixed("control plane", "eks/standard", 1, what)
    logs = get(r.inputs, "enabledClusterLogTypes", [])
    if logs:
        h.usage.append(
            Usage("logs", "logs/cloudwatch", f"EKS control plane logs to CloudWatch: {', '.join(logs)}")
        )


def _aws_node_group(r: Resource, h: Holdings, everything: list[Resource]) -> None:
    taints = get(r.inputs, "taints", [])
    gpu = any(get(t, "key") == GPU_RESOURCE for t in taints)
    template_id = get(r.inputs, "launchTemplate.id")
    disk, disk_type = None, "gp3"
    for other in everything:
        if other.type == "aws:ec2/launchTemplate:LaunchTemplate" and (
            (template_id and template_id == f"{other.name}-id") or other.name == f"{r.name}-nodes"
        ):
            for mapping in get(other.inputs, "blockDeviceMappings", []):
                disk = get(mapping, "ebs.volumeSize", disk)
                disk_type = get(mapping, "ebs.volumeType", "gp3")
    gpus = get(r.inputs, "tags", {}).get(_key(AUTOSCALER_GPU_TAG))
    h.pools.append(
        Pool(
            role="gpu" if gpu else "system",
            instance_type=(get(r.inputs, "instanceTypes", ["?"]) or ["?"])[0],
            spot=get(r.inputs, "capacityType") == "SPOT",
            min_nodes=int(get(r.inputs, "scalingConfig.minSize", 0)),
            max_nodes=int(get(r.inputs, "scalingConfig.maxSize", 0)),
            disk_gb=int(disk) if disk is not None else None,
            disk_item=f"disk/{disk_type}" if disk is not None else "disk/gp3",
            gpus_per_node=int(gpus) if gpus else None,
        )
    )


def _aws_nat(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.fixed.append(Fixed("NAT, load balancer, public IPs", "nat-gateway", 1, f"NAT gateway {r.name}"))


def _aws_eip(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.fixed.append(Fixed("NAT, load balancer, public IPs", "public-ipv4", 1, f"Elastic IP {r.name}"))


def _aws_subnet(r: Resource, h: Holdings, _: list[Resource]) -> None:
    # An internet-facing load balancer takes the subnets tagged for it, one per zone.
    if _key(PUBLIC_ELB_ROLE) in get(r.inputs, "tags", {}):
        h.zones.add(r.name)


def _aws_ecr(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.stored.append(
        Stored("registry and storage", "registry/ecr", f"ECR repository {get(r.inputs, 'name', r.name)}")
    )


# --- gcp -------------------------------------------------------------------------------------------------


def _gcp_region(location: str) -> str:
    """us-central1-a -> us-central1: a zone's region."""
    parts = location.split("-")
    return "-".join(parts[:2]) if len(parts) > 2 else location


def _gcp_cluster(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.cloud = "gcp"
    location = get(r.inputs, "location")
    if location:
        h.region = _gcp_region(location)
    h.control_plane = Fixed("control plane", "gke/standard", 1, f"GKE cluster management fee ({location})")
    components = get(r.inputs, "loggingConfig.enableComponents", [])
    if components:
        h.usage.append(
            Usage("logs and metrics", "logs/cloud-logging", f"Cloud Logging: {', '.join(components)}")
        )
    if get(r.inputs, "monitoringConfig.managedPrometheus.enabled"):
        h.usage.append(
            Usage("logs and metrics", "metrics/managed-prometheus", "Managed Service for Prometheus samples")
        )


def _gcp_node_pool(r: Resource, h: Holdings, _: list[Resource]) -> None:
    accelerators = get(r.inputs, "nodeConfig.guestAccelerators", [])
    h.pools.append(
        Pool(
            role="gpu" if accelerators else "system",
            instance_type=get(r.inputs, "nodeConfig.machineType", "?"),
            spot=bool(get(r.inputs, "nodeConfig.spot", False)),
            min_nodes=int(get(r.inputs, "autoscaling.totalMinNodeCount", get(r.inputs, "nodeCount", 0))),
            max_nodes=int(get(r.inputs, "autoscaling.totalMaxNodeCount", get(r.inputs, "nodeCount", 0))),
            disk_gb=get(r.inputs, "nodeConfig.diskSizeGb"),
            disk_item=f"disk/{get(r.inputs, 'nodeConfig.diskType', 'pd-balanced')}",
            gpus_per_node=int(get(accelerators[0], "count", 1)) if accelerators else None,
        )
    )


def _gcp_nat(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.per_node.append(
        PerNode("NAT, load balancer, public IPs", "nat/per-vm", "Cloud NAT, per node behind it")
    )
    h.fixed.append(
        Fixed("NAT, load balancer, public IPs", "public-ipv4", 1, "Cloud NAT's address (AUTO_ONLY: one)")
    )


def _gcp_registry(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.stored.append(
        Stored(
            "registry and storage",
            "registry/artifact-registry",
            f"Artifact Registry {get(r.inputs, 'repositoryId', r.name)}",
        )
    )


# --- azure -----------------------------------------------------------------------------------------------


def _azure_group(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.cloud, h.region = "azure", get(r.inputs, "location") or h.region


def _azure_pool(inputs: Mapping[str, Any], role: str) -> Pool:
    return Pool(
        role=role,
        instance_type=get(inputs, "vmSize", "?"),
        spot=get(inputs, "scaleSetPriority") == "Spot",
        min_nodes=int(get(inputs, "minCount", get(inputs, "count", 0))),
        max_nodes=int(get(inputs, "maxCount", get(inputs, "count", 0))),
        disk_gb=get(inputs, "osDiskSizeGB"),
        disk_item="disk/managed-os",
        gpus_per_node=None,
    )


def _azure_cluster(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.cloud = "azure"
    h.region = get(r.inputs, "location") or h.region
    tier = str(get(r.inputs, "sku.tier", "Free"))
    h.control_plane = Fixed("control plane", f"aks/{tier.lower()}", 1, f"AKS control plane, {tier} tier")
    for profile in get(r.inputs, "agentPoolProfiles", []):
        h.pools.append(_azure_pool(profile, "system"))
    if get(r.inputs, "networkProfile.outboundType", "loadBalancer") == "loadBalancer":
        ips = int(get(r.inputs, "networkProfile.loadBalancerProfile.managedOutboundIPs.count", 1))
        h.fixed.append(Fixed("NAT, load balancer, public IPs", "public-ipv4", ips, "outbound public IP"))
    if get(r.inputs, "addonProfiles.omsagent.enabled") or get(r.inputs, "addonProfiles.omsAgent.enabled"):
        h.usage.append(
            Usage("logs and metrics", "logs/azure-monitor", "Container insights (Azure Monitor Logs)")
        )
    unneeded = _seconds(get(r.inputs, "autoScalerProfile.scaleDownUnneededTime"))
    if unneeded:
        h.node_unneeded_s = unneeded


def _azure_agent_pool(r: Resource, h: Holdings, _: list[Resource]) -> None:
    role = "gpu" if any(GPU_RESOURCE in str(t) for t in get(r.inputs, "nodeTaints", [])) else "system"
    h.pools.append(_azure_pool(r.inputs, role))


def _azure_registry(r: Resource, h: Holdings, _: list[Resource]) -> None:
    sku = get(r.inputs, "sku.name", "Basic")
    h.fixed.append(Fixed("registry and storage", f"registry/acr-{sku}", 1, f"Container Registry, {sku}"))


# --- the shared Kubernetes layer ---------------------------------------------------------------------------

# The load balancer a LoadBalancer Service gets, by cloud, and the public IPv4 addresses it holds: an
# internet-facing NLB one per zone (0 = per zone), an Azure one its frontend's, a GCP forwarding rule's
# address is the rule's own.
LOAD_BALANCER: dict[str, tuple[str, int]] = {
    "aws": ("load-balancer/nlb", 0),
    "gcp": ("load-balancer/forwarding-rule", -1),
    "azure": ("load-balancer/standard", 1),
}


# Service annotations that set a cloud load balancer's idle timeout, and the unit each takes in seconds.
LB_IDLE_ANNOTATIONS = {"service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout": 60}


def _helm_release(r: Resource, h: Holdings, _: list[Resource]) -> None:
    values = get(r.inputs, "values", {})
    release = get(r.inputs, "name", r.name)
    # Traefik's chart (41.x) takes the Service's type under service.spec; older charts under service.type.
    if "LoadBalancer" in (get(values, "service.spec.type"), get(values, "service.type")):
        h.load_balancer = release
        annotations = get(values, "service.annotations", {})
        for annotation, unit_s in LB_IDLE_ANNOTATIONS.items():
            set_to = annotations.get(_key(annotation))
            if set_to is not None and str(set_to).isdigit():
                h.timeouts[f"load balancer idle timeout ({annotation})"] = int(set_to) * unit_s
    # An ingress controller's own limits on one request (Traefik's entry points' respondingTimeouts).
    for port, settings in (get(values, "ports", {}) or {}).items():
        for name in ("writeTimeout", "idleTimeout"):
            limit = _seconds(get(settings, f"transport.respondingTimeouts.{name}"))
            if limit:
                h.timeouts[f"{release} {port} {name}"] = limit
    unneeded = _seconds(get(values, "extraArgs", {}).get("scale-down-unneeded-time"))
    if unneeded:
        h.node_unneeded_s = unneeded
    hold = _seconds(get(values, "interceptor.readinessTimeout"))
    if hold:
        h.timeouts["KEDA interceptor readinessTimeout (chart value)"] = hold


def _deployment(r: Resource, h: Holdings, _: list[Resource]) -> None:
    for container in get(r.inputs, "spec.template.spec.containers", []):
        gpus = get(container, "resources.limits", {}).get(_key(GPU_RESOURCE))
        if gpus:
            h.gpus_per_pod = int(gpus)
            replicas = get(r.inputs, "spec.replicas")
            if replicas is not None:
                h.min_replicas = h.max_replicas = int(replicas)


def _scaled_object(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.min_replicas = int(get(r.inputs, "spec.minReplicaCount", h.min_replicas))
    h.max_replicas = int(get(r.inputs, "spec.maxReplicaCount", h.max_replicas))


def _http_scaled_object(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.min_replicas = int(get(r.inputs, "spec.replicas.min", 0))
    h.max_replicas = int(get(r.inputs, "spec.replicas.max", h.max_replicas))
    h.scaledown_period_s = get(r.inputs, "spec.scaledownPeriod")
    failover = get(r.inputs, "spec.coldStartTimeoutFailoverRef.timeoutSeconds")
    if failover:
        h.timeouts["KEDA interceptor cold-start hold (liftoff:coldStartTimeoutSeconds)"] = int(failover)
    wait = _seconds(get(r.inputs, "spec.timeouts.conditionWait"))
    if wait:
        h.timeouts["KEDA interceptor conditionWait"] = wait


def _image(r: Resource, h: Holdings, _: list[Resource]) -> None:
    h.image_variant = get(r.inputs, "buildArgs", {}).get(_key("VARIANT"))


READERS: dict[str, Reader] = {
    "pulumi:providers:aws": _aws_provider,
    "aws:eks/cluster:Cluster": _aws_cluster,
    "aws:eks/nodeGroup:NodeGroup": _aws_node_group,
    "aws:ec2/natGateway:NatGateway": _aws_nat,
    "aws:ec2/eip:Eip": _aws_eip,
    "aws:ec2/subnet:Subnet": _aws_subnet,
    "aws:ecr/repository:Repository": _aws_ecr,
    "gcp:container/cluster:Cluster": _gcp_cluster,
    "gcp:container/nodePool:NodePool": _gcp_node_pool,
    "gcp:compute/routerNat:RouterNat": _gcp_nat,
    "gcp:artifactregistry/repository:Repository": _gcp_registry,
    "azure-native:resources:ResourceGroup": _azure_group,
    "azure-native:containerservice:ManagedCluster": _azure_cluster,
    "azure-native:containerservice:AgentPool": _azure_agent_pool,
    "azure-native:containerregistry:Registry": _azure_registry,
    "kubernetes:helm.sh/v3:Release": _helm_release,
    "kubernetes:apps/v1:Deployment": _deployment,
    "kubernetes:keda.sh/v1alpha1:ScaledObject": _scaled_object,
    "kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject": _http_scaled_object,
    "docker-build:index:Image": _image,
}


def holdings(resources: Iterable[Resource]) -> Holdings:
    everything = list(resources)
    found = Holdings()
    # The Deployment first, so an autoscaler's replica counts (read after it) win over its static count.
    order = sorted(everything, key=lambda r: r.type != "kubernetes:apps/v1:Deployment")
    for r in order:
        reader = READERS.get(r.type)
        if reader is not None:
            reader(r, found, everything)
    if found.load_balancer and found.cloud in LOAD_BALANCER:
        item, ips = LOAD_BALANCER[found.cloud]
        found.fixed.append(
            Fixed("NAT, load balancer, public IPs", item, 1, f"load balancer of {found.load_balancer}")
        )
        ips = len(found.zones) if ips == 0 else ips
        if ips > 0:
            found.fixed.append(
                Fixed(
                    "NAT, load balancer, public IPs",
                    "public-ipv4",
                    ips,
                    f"public IPs of {found.load_balancer}",
                )
            )
    return found
