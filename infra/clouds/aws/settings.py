"""Settings of the `aws` cloud: EKS in one region, a system pool and an autoscaled GPU pool, ECR.

Keys carry the `aws` prefix (`liftoff:awsRegion`, ...) and are declared in Pulumi.yaml. Every check that can
be made before talking to AWS is made here, so a bad stack file fails in a second with the key's name rather
than twenty minutes into `pulumi up`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from infra import versions
from infra.config_keys import (
    Cidr,
    Cidrs,
    ConfigSource,
    GpuFloor,
    SettingsError,
    StackModel,
    Strings,
    allow_extended_support,
    load_cloud,
    pod_gpus,
    today,
)
from infra.versions import DEFAULT_MINOR

# The EKS managed add-ons take the default version EKS gives for the cluster's minor, asked at plan time
# (infra/clouds/aws/cluster.py); cluster minors and the cluster-autoscaler tags are in infra/versions.py.
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
EndpointAccess = Literal["public", "restricted", "private"]
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
# The GPU model of each family, as the value of the `k8s.amazonaws.com/accelerator` node label:
# cluster-autoscaler's AWS provider reads that label to know a GPU node is still initialising its GPUs
# (its README, "GPU instances"), and would otherwise start a second node for the same pending pod.
GPU_MODELS: dict[str, str] = {
    "g4dn": "nvidia-tesla-t4",
    "g5": "nvidia-a10g",
    "g6": "nvidia-l4",
    "g6e": "nvidia-l40s",
    "gr6": "nvidia-l4",
    "p3": "nvidia-tesla-v100",
    "p3dn": "nvidia-tesla-v100",
    "p4d": "nvidia-tesla-a100",
    "p4de": "nvidia-a100-80gb",
    "p5": "nvidia-h100",
    "p5e": "nvidia-h200",
    "p5en": "nvidia-h200",
}

_REGION = r"[a-z]{2}(-gov)?-[a-z]+-\d"
_INSTANCE_TYPE = re.compile(r"^([a-z][a-z0-9-]*)\.([a-z0-9]+)$")
_PRINCIPAL_ARN = r"arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+"
_CLUSTER_NAME = r"[a-zA-Z][a-zA-Z0-9_-]{0,99}"
MIN_GPU_DISK_GIB = 100
"""CUDA base images plus torch are several GiB compressed and unpack to well over 20 GiB."""


Region = Annotated[str, StringConstraints(pattern=rf"^{_REGION}$")]
PrincipalArn = Annotated[str, StringConstraints(pattern=rf"^{_PRINCIPAL_ARN}$")]
ClusterName = Annotated[str, StringConstraints(pattern=rf"^{_CLUSTER_NAME}$")]


@dataclass(frozen=True)
class GpuPool:
    """The GPU managed node group, as its keys describe it."""

    instance_types: tuple[str, ...]
    gpus_per_node: int
    """NVIDIA GPUs each of `instance_types` carries (they must agree, see `AwsSettings`)."""
    min_nodes: int
    max_nodes: int
    desired_nodes: int
    """Only the size at creation: cluster-autoscaler owns it afterwards."""
    spot: bool
    disk_gib: int

    @property
    def accelerator(self) -> str:
        """The GPU model of the pool's first instance type (the accelerator label's value)."""
        return GPU_MODELS[self.instance_types[0].split(".", 1)[0]]


class AwsSettings(StackModel):
    region: Region = Field("us-east-1", alias="awsRegion")
    cluster_name: ClusterName | None = Field(None, alias="awsClusterName")
    """EKS cluster name; None: `liftoff-<stack>`."""
    kubernetes_version: str = Field(DEFAULT_MINOR, alias="awsKubernetesVersion")
    """EKS minor; refused once past its end of standard support unless liftoff:allowExtendedSupport."""
    allow_extended_support: bool = False
    """Derived from liftoff:allowExtendedSupport: EKS's upgrade policy is EXTENDED only then."""
    vpc_cidr: Cidr = Field("10.0.0.0/16", alias="awsVpcCidr")
    availability_zones: int = Field(2, ge=2, le=4, alias="awsAvailabilityZones")
    """How many of the region's zones the VPC spans (at least two, as EKS requires)."""
    nat_per_az: bool = Field(False, alias="awsNatPerAz")
    """One NAT gateway per zone (survives a zone outage) instead of one for all (cheaper, for dev)."""
    endpoint_access: EndpointAccess = Field("restricted", alias="awsEndpointAccess")
    """restricted by default: the API answers only `awsEndpointPublicCidrs` (your address); public is an
    explicit choice (GitHub-hosted CI runners have no fixed address)."""
    endpoint_public_cidrs: Cidrs = Field((), alias="awsEndpointPublicCidrs")
    admin_principal_arn: PrincipalArn | None = Field(None, alias="awsAdminPrincipalArn")
    """IAM role or user made cluster admin through an access entry. It must be the principal `pulumi up`
    runs as (the program installs Kubernetes objects with those credentials); None: detected from them."""
    system_instance_type: str = Field("t3.large", alias="awsSystemInstanceType")
    system_min_nodes: int = Field(2, ge=1, le=100, alias="awsSystemMinNodes")
    system_max_nodes: int = Field(4, ge=1, le=100, alias="awsSystemMaxNodes")
    gpu_pool_enabled: bool = Field(True, alias="awsGpuPool")
    """False: no GPU node group (the service runs on CPU nodes)."""
    gpu_instance_types: Strings = Field(("g5.xlarge",), alias="awsGpuInstanceTypes")
    gpu_min_nodes: int = Field(0, ge=0, le=100, alias="awsGpuMinNodes")
    gpu_max_nodes: int = Field(4, ge=1, le=100, alias="awsGpuMaxNodes")
    gpu_desired_nodes: int = Field(0, ge=0, le=100, alias="awsGpuDesiredNodes")
    """Below the minimum is read as the minimum (the Pulumi.yaml default 0 must work with any minimum)."""
    gpu_spot: bool = Field(False, alias="awsGpuSpot")
    gpu_disk_gib: int = Field(100, ge=MIN_GPU_DISK_GIB, le=16384, alias="awsGpuDiskGib")
    ecr_keep_last: int = Field(20, ge=1, le=1000, alias="awsEcrKeepLast")
    """Images the ECR lifecycle policy keeps; older ones expire."""
    control_plane_logs: Strings = Field(("authenticator",), alias="awsControlPlaneLogs")
    """EKS control-plane log types sent to CloudWatch, billed per GB ingested: the sign-ins only by default;
    api, audit, controllerManager and scheduler are the noisy ones, on request."""
    ecr_force_delete: bool = Field(True, alias="awsEcrForceDelete")
    """`pulumi destroy` deletes the repository even with images in it."""

    @field_validator("control_plane_logs")
    @classmethod
    def _known_log_types(cls, logs: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [log for log in logs if log not in CONTROL_PLANE_LOG_TYPES]
        if unknown:
            raise SettingsError(
                "liftoff:awsControlPlaneLogs",
                f"{', '.join(unknown)} is not an EKS log type; allowed: any of {', '.join(CONTROL_PLANE_LOG_TYPES)}",
            )
        return logs

    @model_validator(mode="before")
    @classmethod
    def _extended_support_from_the_core(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict):
            return {**data, "allow_extended_support": allow_extended_support(info.context)}
        return data

    @field_validator("kubernetes_version")
    @classmethod
    def _supported_version(cls, version: str, info: ValidationInfo) -> str:
        problem = versions.refusal(
            "aws", version, today(info.context), extended=allow_extended_support(info.context)
        )
        if problem is not None or version not in versions.AUTOSCALER_IMAGE_TAGS:
            raise SettingsError(
                "liftoff:awsKubernetesVersion", problem or f"{version!r} has no autoscaler tag"
            )
        return version

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_fits_the_subnets(cls, value: str) -> str:
        network = ipaddress.ip_network(value)
        if network.version != 4 or not 16 <= network.prefixlen <= 20:
            raise SettingsError(
                "liftoff:awsVpcCidr",
                f"{value!r} must be an IPv4 network from /16 to /20 (split into one private and one public "
                "subnet per zone)",
            )
        return value

    @field_validator("system_instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        if not _INSTANCE_TYPE.match(value):
            raise SettingsError(
                "liftoff:awsSystemInstanceType",
                f"{value!r} is not an EC2 instance type (family.size, e.g. t3.large)",
            )
        return value

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        if self.endpoint_access == "restricted" and not self.endpoint_public_cidrs:
            raise SettingsError(
                "liftoff:awsEndpointPublicCidrs",
                "is required when liftoff:awsEndpointAccess is 'restricted' (the default: the API is not "
                "open to the internet); allowed: your address as a CIDR, e.g. "
                "pulumi config set --path 'liftoff:awsEndpointPublicCidrs[0]' \"$(curl -s "
                'https://checkip.amazonaws.com)/32", or liftoff:awsEndpointAccess public to open the API to '
                "every address (IAM still decides) or private (only from inside the VPC)",
            )
        if self.endpoint_access != "restricted" and self.endpoint_public_cidrs:
            raise SettingsError(
                "liftoff:awsEndpointPublicCidrs",
                f"only applies when liftoff:awsEndpointAccess is 'restricted' (it is {self.endpoint_access!r}); "
                "allowed: unset, or set awsEndpointAccess to 'restricted'",
            )
        _ordered("awsSystemMinNodes", self.system_min_nodes, "awsSystemMaxNodes", self.system_max_nodes)
        if not self.gpu_pool_enabled:
            if pod_gpus(info.context) > 0:
                raise SettingsError(
                    "liftoff:awsGpuPool",
                    "is false but liftoff:gpu asks for GPUs per pod, which only a GPU pool has; "
                    "allowed: true, or liftoff:gpu 0",
                )
            return self
        _gpus_per_node(self.gpu_instance_types)
        _ordered("awsGpuMinNodes", self.gpu_min_nodes, "awsGpuMaxNodes", self.gpu_max_nodes)
        desired = max(self.gpu_min_nodes, self.gpu_desired_nodes)
        if desired > self.gpu_max_nodes:
            raise SettingsError(
                "liftoff:awsGpuDesiredNodes",
                f"{desired} is above liftoff:awsGpuMaxNodes ({self.gpu_max_nodes}); "
                f"allowed: {self.gpu_min_nodes} to {self.gpu_max_nodes}",
            )
        return self

    @property
    def gpu_pool(self) -> GpuPool | None:
        """None: no GPU node group (the service runs on CPU nodes)."""
        if not self.gpu_pool_enabled:
            return None
        return GpuPool(
            instance_types=self.gpu_instance_types,
            gpus_per_node=_gpus_per_node(self.gpu_instance_types),
            min_nodes=self.gpu_min_nodes,
            max_nodes=self.gpu_max_nodes,
            desired_nodes=max(self.gpu_min_nodes, self.gpu_desired_nodes),
            spot=self.gpu_spot,
            disk_gib=self.gpu_disk_gib,
        )

    @property
    def autoscaler_image_tag(self) -> str:
        return versions.AUTOSCALER_IMAGE_TAGS[self.kubernetes_version].tag

    def version_warnings(self, day: date) -> list[str]:
        return versions.expiry_warnings("aws", self.kubernetes_version, day)

    gpu_pool_size_key: ClassVar[str] = "awsGpuMaxNodes"

    def gpu_pod_capacity(self, gpus_per_pod: int) -> int | None:
        """Inference pods the GPU pool holds at its largest (None: no pool to judge)."""
        pool = self.gpu_pool
        return None if pool is None else pool.max_nodes * (pool.gpus_per_node // gpus_per_pod)

    @property
    def idle_gpu_nodes(self) -> GpuFloor | None:
        """GPU nodes the pool keeps while no pod asks (None: no GPU pool)."""
        if not self.gpu_pool_enabled:
            return None
        return GpuFloor("liftoff:awsGpuMinNodes", self.gpu_min_nodes)


MODEL = AwsSettings


def load(source: ConfigSource, today: date | None = None) -> AwsSettings:
    return load_cloud(AwsSettings, source, today)


def _gpus_per_node(instance_types: tuple[str, ...]) -> int:
    key = "liftoff:awsGpuInstanceTypes"
    if not instance_types:
        raise SettingsError(key, "is empty; allowed: one or more GPU instance types")
    gpu_counts = {instance_type: _gpus_of(instance_type) for instance_type in instance_types}
    if len(set(gpu_counts.values())) > 1:
        listed = ", ".join(f"{name} ({count})" for name, count in gpu_counts.items())
        raise SettingsError(
            key,
            f"types with different GPU counts ({listed}) cannot share one node group: the autoscaler's "
            "node template states one count; allowed: types with the same number of GPUs",
        )
    return next(iter(gpu_counts.values()))


def _gpus_of(instance_type: str) -> int:
    key = "liftoff:awsGpuInstanceTypes"
    match = _INSTANCE_TYPE.match(instance_type)
    if not match:
        raise SettingsError(
            key, f"{instance_type!r} is not an EC2 instance type (family.size, e.g. g5.xlarge)"
        )
    family, size = match.groups()
    sizes = GPU_INSTANCE_GPUS.get(family)
    if sizes is None:
        raise SettingsError(
            key,
            f"{instance_type!r} has no NVIDIA GPU, but the GPU pool needs one (liftoff:awsGpuPool is true); "
            f"allowed families: {', '.join(GPU_FAMILIES)}",
        )
    if size not in sizes:
        raise SettingsError(
            key,
            f"{instance_type!r} is not a {family} size; allowed: {', '.join(f'{family}.{s}' for s in sizes)}",
        )
    return sizes[size]


def _ordered(low_key: str, low: int, high_key: str, high: int) -> None:
    if low > high:
        raise SettingsError(
            f"liftoff:{low_key}",
            f"{low} is above liftoff:{high_key} ({high}); allowed: at most liftoff:{high_key}",
        )
