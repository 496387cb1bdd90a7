"""Settings of the `aws` cloud: EKS in one region, a system pool and an autoscaled GPU pool, ECR.

Keys carry the `aws` prefix (`liftoff:awsRegion`, ...) and are declared in Pulumi.yaml. Every check that can
be made before talking to AWS is made here, so a bad stack file fails in a second with the key's name rather
than twenty minutes into `pulumi up`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from infra.config_keys import ConfigSource, SettingsError

# The EKS managed add-on versions pinned for each Kubernetes version this module supports, read from the
# "latest version" tables of the EKS user guide (managing-vpc-cni, managing-coredns, managing-kube-proxy)
# and the add-ons' release notes. Moving the cluster to a new minor means adding a row here first.
ADDON_VERSIONS: dict[str, dict[str, str]] = {
    "1.34": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "kube-proxy": "v1.34.1-eksbuild.2",
        "coredns": "v1.12.4-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.8-eksbuild.2",
        "aws-ebs-csi-driver": "v1.51.0-eksbuild.1",
    },
}
KUBERNETES_VERSIONS = tuple(ADDON_VERSIONS)

# cluster-autoscaler must match the cluster's minor version (its README: "use the version meant for it").
AUTOSCALER_IMAGE_TAGS: dict[str, str] = {"1.34": "v1.34.2"}

ENDPOINT_ACCESS_MODES = ("public", "restricted", "private")
"""public: API reachable from anywhere (still authenticated by IAM); restricted: public endpoint limited to
`awsEndpointPublicCidrs`; private: only from inside the VPC (run `pulumi up` from there)."""

# NVIDIA GPUs per instance, by family and size, for the x86_64 families the `AL2023_x86_64_NVIDIA` AMI serves
# (the AMD g4ad and the Arm g5g families would not boot that AMI). The count feeds the cluster-autoscaler
# node template, which must tell the truth about a node it has never seen.
GPU_INSTANCE_GPUS: dict[str, dict[str, int]] = {
    "g4dn": {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1, "12xlarge": 4, "metal": 8},
    "g5": {
        "xlarge": 1,
        "2xlarge": 1,
        "4xlarge": 1,
        "8xlarge": 1,
        "16xlarge": 1,
        "12xlarge": 4,
        "24xlarge": 4,
        "48xlarge": 8,
    },
    "g6": {
        "xlarge": 1,
        "2xlarge": 1,
        "4xlarge": 1,
        "8xlarge": 1,
        "16xlarge": 1,
        "12xlarge": 4,
        "24xlarge": 4,
        "48xlarge": 8,
    },
    "g6e": {
        "xlarge": 1,
        "2xlarge": 1,
        "4xlarge": 1,
        "8xlarge": 1,
        "16xlarge": 1,
        "12xlarge": 4,
        "24xlarge": 4,
        "48xlarge": 8,
    },
    "gr6": {"4xlarge": 1, "8xlarge": 1},
    "p3": {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8},
    "p3dn": {"24xlarge": 8},
    "p4d": {"24xlarge": 8},
    "p4de": {"24xlarge": 8},
    "p5": {"4xlarge": 1, "48xlarge": 8},
    "p5e": {"48xlarge": 8},
    "p5en": {"48xlarge": 8},
}
GPU_FAMILIES = tuple(GPU_INSTANCE_GPUS)

_REGION = r"[a-z]{2}(-gov)?-[a-z]+-\d"
_INSTANCE_TYPE = re.compile(r"^([a-z][a-z0-9-]*)\.([a-z0-9]+)$")
_PRINCIPAL_ARN = r"arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+"
_CLUSTER_NAME = r"[a-zA-Z][a-zA-Z0-9_-]{0,99}"
MIN_GPU_DISK_GIB = 100
"""CUDA base images plus torch are several GiB compressed and unpack to well over 20 GiB."""


@dataclass(frozen=True)
class GpuPool:
    """The GPU managed node group."""

    instance_types: tuple[str, ...]
    gpus_per_node: int
    """NVIDIA GPUs each of `instance_types` carries (they must agree, see `load`)."""
    min_nodes: int
    max_nodes: int
    desired_nodes: int
    """Only the size at creation: cluster-autoscaler owns it afterwards."""
    spot: bool
    disk_gib: int


@dataclass(frozen=True)
class AwsSettings:
    region: str
    cluster_name: str | None
    """EKS cluster name; None: `liftoff-<stack>`."""
    kubernetes_version: str
    vpc_cidr: str
    availability_zones: int
    """How many of the region's zones the VPC spans (at least two, as EKS requires)."""
    nat_per_az: bool
    """One NAT gateway per zone (survives a zone outage) instead of one for all (cheaper, for dev)."""
    endpoint_access: str
    endpoint_public_cidrs: tuple[str, ...]
    admin_principal_arn: str | None
    """IAM role or user made cluster admin through an access entry. It must be the principal `pulumi up`
    runs as (the program installs Kubernetes objects with those credentials); None: detected from them."""
    system_instance_type: str
    system_min_nodes: int
    system_max_nodes: int
    gpu_pool: GpuPool | None
    """None: no GPU node group (the service runs on CPU nodes)."""
    ecr_keep_last: int
    """Images the ECR lifecycle policy keeps; older ones expire."""
    ecr_force_delete: bool
    """`pulumi destroy` deletes the repository even with images in it."""

    @property
    def addon_versions(self) -> dict[str, str]:
        return ADDON_VERSIONS[self.kubernetes_version]

    @property
    def autoscaler_image_tag(self) -> str:
        return AUTOSCALER_IMAGE_TAGS[self.kubernetes_version]


def load(source: ConfigSource) -> AwsSettings:
    endpoint_access = source.choice("awsEndpointAccess", ENDPOINT_ACCESS_MODES, default="public")
    public_cidrs = source.cidrs("awsEndpointPublicCidrs")
    if endpoint_access == "restricted" and not public_cidrs:
        raise SettingsError(
            source.key("awsEndpointPublicCidrs"),
            "is required when liftoff:awsEndpointAccess is 'restricted'; allowed: a list of CIDRs "
            "such as [203.0.113.0/24]",
        )
    if endpoint_access != "restricted" and public_cidrs:
        raise SettingsError(
            source.key("awsEndpointPublicCidrs"),
            f"only applies when liftoff:awsEndpointAccess is 'restricted' (it is {endpoint_access!r}); "
            "allowed: unset, or set awsEndpointAccess to 'restricted'",
        )
    system_min = source.integer("awsSystemMinNodes", 2, minimum=1, maximum=100)
    system_max = source.integer("awsSystemMaxNodes", 4, minimum=1, maximum=100)
    _ordered(source, "awsSystemMinNodes", system_min, "awsSystemMaxNodes", system_max)
    return AwsSettings(
        region=source.string("awsRegion", "us-east-1", pattern=_REGION) or "us-east-1",
        cluster_name=source.string("awsClusterName", pattern=_CLUSTER_NAME),
        kubernetes_version=source.choice("awsKubernetesVersion", KUBERNETES_VERSIONS, default="1.34"),
        vpc_cidr=_vpc_cidr(source),
        availability_zones=source.integer("awsAvailabilityZones", 2, minimum=2, maximum=4),
        nat_per_az=source.boolean("awsNatPerAz", False),
        endpoint_access=endpoint_access,
        endpoint_public_cidrs=public_cidrs,
        admin_principal_arn=source.string("awsAdminPrincipalArn", pattern=_PRINCIPAL_ARN),
        system_instance_type=_instance_type(source, "awsSystemInstanceType", "t3.large"),
        system_min_nodes=system_min,
        system_max_nodes=system_max,
        gpu_pool=_gpu_pool(source) if _gpu_pool_asked(source) else None,
        ecr_keep_last=source.integer("awsEcrKeepLast", 20, minimum=1, maximum=1000),
        ecr_force_delete=source.boolean("awsEcrForceDelete", True),
    )


def _gpu_pool_asked(source: ConfigSource) -> bool:
    asked = source.boolean("awsGpuPool", True)
    if not asked and source.integer("gpu", 0, minimum=0) > 0:
        raise SettingsError(
            source.key("awsGpuPool"),
            "is false but liftoff:gpu asks for GPUs per pod, which only a GPU pool has; "
            "allowed: true, or liftoff:gpu 0",
        )
    return asked


def _gpu_pool(source: ConfigSource) -> GpuPool:
    key = "awsGpuInstanceTypes"
    instance_types = source.strings(key, ("g5.xlarge",))
    if not instance_types:
        raise SettingsError(source.key(key), "is empty; allowed: one or more GPU instance types")
    gpu_counts = {instance_type: _gpus_of(source, key, instance_type) for instance_type in instance_types}
    if len(set(gpu_counts.values())) > 1:
        listed = ", ".join(f"{name} ({count})" for name, count in gpu_counts.items())
        raise SettingsError(
            source.key(key),
            f"types with different GPU counts ({listed}) cannot share one node group: the autoscaler's "
            "node template states one count; allowed: types with the same number of GPUs",
        )
    min_nodes = source.integer("awsGpuMinNodes", 0, minimum=0, maximum=100)
    max_nodes = source.integer("awsGpuMaxNodes", 2, minimum=1, maximum=100)
    _ordered(source, "awsGpuMinNodes", min_nodes, "awsGpuMaxNodes", max_nodes)
    # Below the minimum is read as the minimum (the Pulumi.yaml default 0 must work with any minimum).
    desired = max(min_nodes, source.integer("awsGpuDesiredNodes", 0, minimum=0, maximum=100))
    if desired > max_nodes:
        raise SettingsError(
            source.key("awsGpuDesiredNodes"),
            f"{desired} is above liftoff:awsGpuMaxNodes ({max_nodes}); allowed: {min_nodes} to {max_nodes}",
        )
    return GpuPool(
        instance_types=instance_types,
        gpus_per_node=next(iter(gpu_counts.values())),
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        desired_nodes=desired,
        spot=source.boolean("awsGpuSpot", False),
        disk_gib=source.integer("awsGpuDiskGib", 100, minimum=MIN_GPU_DISK_GIB, maximum=16384),
    )


def _gpus_of(source: ConfigSource, key: str, instance_type: str) -> int:
    match = _INSTANCE_TYPE.match(instance_type)
    if not match:
        raise SettingsError(
            source.key(key), f"{instance_type!r} is not an EC2 instance type (family.size, e.g. g5.xlarge)"
        )
    family, size = match.groups()
    sizes = GPU_INSTANCE_GPUS.get(family)
    if sizes is None:
        raise SettingsError(
            source.key(key),
            f"{instance_type!r} has no NVIDIA GPU, but the GPU pool needs one (liftoff:awsGpuPool is true); "
            f"allowed families: {', '.join(GPU_FAMILIES)}",
        )
    if size not in sizes:
        raise SettingsError(
            source.key(key),
            f"{instance_type!r} is not a {family} size; allowed: {', '.join(f'{family}.{s}' for s in sizes)}",
        )
    return sizes[size]


def _instance_type(source: ConfigSource, key: str, default: str) -> str:
    value = source.string(key, default) or default
    if not _INSTANCE_TYPE.match(value):
        raise SettingsError(
            source.key(key), f"{value!r} is not an EC2 instance type (family.size, e.g. t3.large)"
        )
    return value


def _ordered(source: ConfigSource, low_key: str, low: int, high_key: str, high: int) -> None:
    if low > high:
        raise SettingsError(
            source.key(low_key),
            f"{low} is above liftoff:{high_key} ({high}); allowed: at most liftoff:{high_key}",
        )


def _vpc_cidr(source: ConfigSource) -> str:
    key = "awsVpcCidr"
    value = source.cidr(key, "10.0.0.0/16")
    network = ipaddress.ip_network(value)
    if network.version != 4 or not 16 <= network.prefixlen <= 20:
        raise SettingsError(
            source.key(key),
            f"{value!r} must be an IPv4 network from /16 to /20 (split into one private and one public "
            "subnet per zone)",
        )
    return value
