"""Settings of the `gcp` cloud: GKE with a system pool and an autoscaled GPU pool, Artifact Registry.

Project, region and zone are the Google provider's own keys (`gcp:project`, `gcp:region`, `gcp:zone`): the
provider reads them too, so one `pulumi config set gcp:project ...` points both the provider and every
resource here at the same project. Everything else is a `liftoff:gcp...` key declared in Pulumi.yaml.

The GPU pool's accelerator is checked against its machine type here, before anything is created: GKE
would otherwise fail half-way through `pulumi up` with a less helpful message.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, ClassVar, Literal, Self

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

_PROJECT_ID = r"[a-z][a-z0-9-]{4,28}[a-z0-9]"
_REGION = r"[a-z]+-[a-z]+[0-9]+"
_MACHINE_TYPE = r"[a-z][a-z0-9]*-[a-z0-9-]+"

# N1 is the one general-purpose family GPUs attach to; each model allows these counts per VM.
_N1_ACCELERATORS: dict[str, tuple[int, ...]] = {
    "nvidia-tesla-t4": (1, 2, 4),
    "nvidia-tesla-p4": (1, 2, 4),
    "nvidia-tesla-p100": (1, 2, 4),
    "nvidia-tesla-v100": (1, 2, 4, 8),
}
# Accelerator-optimized series: the machine type fixes the GPU model, and the count is the `-<n>g` suffix.
_A_SERIES: dict[str, str] = {
    "a2-highgpu": "nvidia-tesla-a100",
    "a2-megagpu": "nvidia-tesla-a100",
    "a2-ultragpu": "nvidia-a100-80gb",
    "a3-highgpu": "nvidia-h100-80gb",
    "a3-edgegpu": "nvidia-h100-80gb",
    "a3-megagpu": "nvidia-h100-mega-80gb",
    "a3-ultragpu": "nvidia-h200-141gb",
    "a4-highgpu": "nvidia-b200",
}
# G series: the count is not in the name; it follows the vCPU count.
_G2_GPUS = {4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8}
_G4_GPUS = {48: 1, 96: 2, 192: 4, 384: 8}


@dataclass(frozen=True)
class Accelerator:
    """What a GPU machine type carries: GKE's accelerator type name and GPUs per VM."""

    type: str
    allowed_counts: tuple[int, ...]


ProjectId = Annotated[str, StringConstraints(pattern=rf"^{_PROJECT_ID}$")]
Region = Annotated[str, StringConstraints(pattern=rf"^{_REGION}$")]
Zone = Annotated[str, StringConstraints(pattern=r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")]
MachineType = Annotated[str, StringConstraints(pattern=rf"^{_MACHINE_TYPE}$")]
MinorVersion = Annotated[str, StringConstraints(pattern=r"^1\.[0-9]+$")]


class GcpSettings(StackModel):
    project: ProjectId = Field(alias="gcp:project")
    """Project ID everything is created in (`gcp:project`)."""
    region: Region = Field(alias="gcp:region")
    """Region of the network, the registry and a regional cluster (`gcp:region`)."""
    location_mode: Literal["zonal", "regional"] = Field("zonal", alias="gcpLocationMode")
    """"zonal": control plane and nodes in one zone (cheaper, GKE's free tier covers one zonal cluster);
    "regional": control plane replicated across the region's zones."""
    configured_zone: Zone | None = Field(None, alias="gcp:zone")
    """`gcp:zone` as set; see `zone`."""
    gpu_zones: Strings = Field((), alias="gcpGpuZones")
    """GPU pool zones in a regional cluster (not every zone offers every GPU); empty: the cluster's."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = Field("REGULAR", alias="gcpReleaseChannel")
    kubernetes_version: MinorVersion = Field(DEFAULT_MINOR, alias="gcpKubernetesVersion")
    """Minimum control-plane minor (`1.35`), which the channel must offer; it upgrades from there."""
    master_authorized_networks: Cidrs = Field((), alias="gcpMasterAuthorizedNetworks")
    """CIDRs allowed to reach the control plane's IP endpoint; required when `dns_endpoint` is off (then
    `pulumi up` reaches the API by IP, and from these networks only)."""
    dns_endpoint: bool = Field(False, alias="gcpDnsEndpoint")
    """GKE's DNS-based control plane endpoint, open to traffic from anywhere but answering only callers whose
    Google identity holds `container.clusters.connect` (IAM checks each request, then Kubernetes RBAC). The
    kubeconfig uses it, so CI runners, whose addresses change, reach the API without an authorised network."""
    deletion_protection: bool = Field(False, alias="gcpDeletionProtection")
    workload_logs: bool = Field(False, alias="gcpWorkloadLogs")
    """Containers' stdout (the server's and Traefik's access logs) to Cloud Logging, billed per GiB ingested;
    off: system components only, and `kubectl logs` still works."""
    flow_logs: bool = Field(False, alias="gcpFlowLogs")
    """VPC flow logs of the node subnet (billed per GiB); on: 10-minute aggregation, 10 % sampled."""
    managed_gpu_metrics: bool = Field(False, alias="gcpManagedGpuMetrics")
    """GKE's DCGM GPU metrics through Managed Service for Prometheus, billed per sample ingested."""
    subnet_cidr: Cidr = Field("10.10.0.0/20", alias="gcpSubnetCidr")
    pods_cidr: Cidr = Field("10.20.0.0/16", alias="gcpPodsCidr")
    services_cidr: Cidr = Field("10.30.0.0/20", alias="gcpServicesCidr")
    system_machine_type: MachineType = Field("e2-standard-4", alias="gcpSystemMachineType")
    system_nodes_min: int = Field(1, ge=1, le=1000, alias="gcpSystemNodesMin")
    system_nodes_max: int = Field(3, ge=1, le=1000, alias="gcpSystemNodesMax")
    gpu_machine_type: MachineType = Field("g2-standard-8", alias="gcpGpuMachineType")
    requested_accelerator_type: str | None = Field(None, alias="gcpGpuAcceleratorType")
    """`gcpGpuAcceleratorType` as set; see `gpu_accelerator_type`."""
    requested_accelerator_count: int = Field(0, ge=0, le=16, alias="gcpGpuAcceleratorCount")
    """`gcpGpuAcceleratorCount` as set (0: the machine type's own); see `gpu_accelerator_count`."""
    gpu_nodes_min: int = Field(0, ge=0, le=1000, alias="gcpGpuNodesMin")
    gpu_nodes_max: int = Field(4, ge=1, le=1000, alias="gcpGpuNodesMax")
    gpu_spot: bool = Field(False, alias="gcpGpuSpot")
    gpu_driver_version: Literal["DEFAULT", "LATEST"] = Field("LATEST", alias="gcpGpuDriverVersion")
    registry_keep_count: int = Field(10, ge=1, le=1000, alias="gcpRegistryKeepCount")
    """Image versions the Artifact Registry cleanup policy keeps; older ones are deleted."""

    @field_validator("kubernetes_version")
    @classmethod
    def _supported_minor(cls, version: str, info: ValidationInfo) -> str:
        problem = versions.refusal(
            "gcp", version, today(info.context), extended=allow_extended_support(info.context)
        )
        if problem is not None:
            raise SettingsError("liftoff:gcpKubernetesVersion", problem)
        return version

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        if not self.dns_endpoint and not self.master_authorized_networks:
            raise SettingsError(
                "liftoff:gcpMasterAuthorizedNetworks",
                "is required with liftoff:gcpDnsEndpoint false: the CIDRs allowed to reach the cluster's "
                'control plane, e.g. your address as ["203.0.113.7/32"] (`curl -s https://ifconfig.me`)',
            )
        self._check_zones()
        accelerator = accelerator_for(self.gpu_machine_type, self.requested_accelerator_type)
        if self.gpu_accelerator_type != accelerator.type:
            raise SettingsError(
                "liftoff:gcpGpuAcceleratorType",
                f"{self.gpu_accelerator_type!r} is not offered with {self.gpu_machine_type} "
                f"(liftoff:gcpGpuMachineType); allowed: {accelerator.type}",
            )
        count = self.gpu_accelerator_count
        if count not in accelerator.allowed_counts:
            raise SettingsError(
                "liftoff:gcpGpuAcceleratorCount",
                f"{count} GPUs of {accelerator.type} do not fit {self.gpu_machine_type}; "
                f"allowed: {', '.join(map(str, accelerator.allowed_counts))}",
            )
        wanted = pod_gpus(info.context)
        if wanted > count:
            raise SettingsError(
                "liftoff:gpu",
                f"{wanted} GPUs per pod cannot fit a GPU node with {count} (liftoff:gcpGpuAcceleratorCount); "
                f"allowed: 0 to {count}",
            )
        _ordered("gcpSystemNodes", self.system_nodes_min, self.system_nodes_max, floor=1)
        _ordered("gcpGpuNodes", self.gpu_nodes_min, self.gpu_nodes_max, floor=0)
        _check_ranges(
            {
                "gcpPodsCidr": self.pods_cidr,
                "gcpServicesCidr": self.services_cidr,
                "gcpSubnetCidr": self.subnet_cidr,
            }
        )
        return self

    def _check_zones(self) -> None:
        region = self.region
        if self.location_mode == "zonal":
            zone = self.configured_zone
            if zone is None:
                raise SettingsError(
                    "gcp:zone",
                    f"is required when liftoff:gcpLocationMode is zonal; allowed: a zone of {region} ({region}-a)",
                )
            if not zone.startswith(f"{region}-"):
                raise SettingsError(
                    "gcp:zone", f"{zone!r} is not in gcp:region {region}; allowed: {region}-<x>"
                )
        if self.gpu_zones and self.location_mode != "regional":
            raise SettingsError(
                "liftoff:gcpGpuZones",
                "only applies to a regional cluster (liftoff:gcpLocationMode regional); allowed: unset if zonal",
            )
        for zone in self.gpu_zones:
            if not re.fullmatch(rf"{re.escape(region)}-[a-z]", zone):
                raise SettingsError("liftoff:gcpGpuZones", f"{zone!r} is not a zone of {region}")

    @property
    def zone(self) -> str | None:
        """The cluster's zone when zonal (`gcp:zone`); None when regional."""
        return None if self.location_mode == "regional" else self.configured_zone

    @property
    def location(self) -> str:
        """Where the cluster lives: its zone (zonal) or its region (regional)."""
        return self.zone if self.zone is not None else self.region

    @property
    def gpu_accelerator_type(self) -> str:
        """GKE's accelerator type: as set, else the one the machine type carries (n1-*: nvidia-tesla-t4)."""
        return self.requested_accelerator_type or accelerator_for(self.gpu_machine_type, None).type

    @property
    def gpu_accelerator_count(self) -> int:
        """GPUs per GPU node: as set, else the machine type's own count (A and G series) or 1 (N1)."""
        accelerator = accelerator_for(self.gpu_machine_type, self.requested_accelerator_type)
        return self.requested_accelerator_count or accelerator.allowed_counts[0]

    def version_warnings(self, day: date) -> list[str]:
        return versions.expiry_warnings("gcp", self.kubernetes_version, day)

    gpu_pool_size_key: ClassVar[str] = "gcpGpuNodesMax"

    def gpu_pod_capacity(self, gpus_per_pod: int) -> int | None:
        """Inference pods the GPU pool holds at its largest."""
        return self.gpu_nodes_max * (self.gpu_accelerator_count // gpus_per_pod)

    @property
    def idle_gpu_nodes(self) -> GpuFloor | None:
        """GPU nodes the pool keeps while no pod asks (None: no GPU pool)."""
        return GpuFloor("liftoff:gcpGpuNodesMin", self.gpu_nodes_min)


MODEL = GcpSettings


def load(source: ConfigSource, today: date | None = None) -> GcpSettings:
    return load_cloud(GcpSettings, source, today)


def accelerator_for(machine_type: str, requested: str | None) -> Accelerator:
    """The GPU a machine type carries (A/G series) or accepts (N1); SettingsError for any other family."""
    if machine_type.startswith("n1-"):
        if requested is None:
            return Accelerator("nvidia-tesla-t4", _N1_ACCELERATORS["nvidia-tesla-t4"])
        if requested not in _N1_ACCELERATORS:
            raise SettingsError(
                "liftoff:gcpGpuAcceleratorType",
                f"{requested!r} is not offered with {machine_type} (liftoff:gcpGpuMachineType, N1 family); "
                f"allowed: {', '.join(_N1_ACCELERATORS)}",
            )
        return Accelerator(requested, _N1_ACCELERATORS[requested])
    a_series = re.fullmatch(r"(a[0-9]-[a-z]+gpu)-([0-9]+)g", machine_type)
    if a_series and a_series.group(1) in _A_SERIES:
        return Accelerator(_A_SERIES[a_series.group(1)], (int(a_series.group(2)),))
    g_series = re.fullmatch(r"(g2|g4)-standard-([0-9]+)", machine_type)
    gpus_by_vcpu = {"g2": _G2_GPUS, "g4": _G4_GPUS}
    if g_series and int(g_series.group(2)) in gpus_by_vcpu[g_series.group(1)]:
        model = "nvidia-l4" if g_series.group(1) == "g2" else "nvidia-rtx-pro-6000"
        return Accelerator(model, (gpus_by_vcpu[g_series.group(1)][int(g_series.group(2))],))
    raise SettingsError(
        "liftoff:gcpGpuMachineType",
        f"{machine_type!r} carries no GPU this program knows; allowed: g2-standard-<4|8|12|16|24|32|48|96> "
        "(nvidia-l4), g4-standard-<48|96|192|384>, a2-highgpu-<n>g, a2-ultragpu-<n>g, a3-highgpu-<n>g, "
        "a3-megagpu-8g, a3-ultragpu-8g, a4-highgpu-8g, or n1-* with nvidia-tesla-t4|p4|p100|v100",
    )


def _ordered(prefix: str, low: int, high: int, *, floor: int) -> None:
    if low > high:
        raise SettingsError(
            f"liftoff:{prefix}Min", f"{low} is above liftoff:{prefix}Max ({high}); allowed: {floor} to {high}"
        )


def _check_ranges(ranges: dict[str, str]) -> None:
    """Subnet, pod and service ranges: each a private network, none overlapping another."""
    networks = {key: ipaddress.ip_network(value) for key, value in ranges.items()}
    for key, network in networks.items():
        if network.version != 4 or not network.is_private:
            raise SettingsError(f"liftoff:{key}", f"{network} is not a private IPv4 range; allowed: RFC 1918")
    keys = list(networks)
    for i, key in enumerate(keys):
        for other in keys[i + 1 :]:
            if networks[key].overlaps(networks[other]):
                raise SettingsError(
                    f"liftoff:{key}",
                    f"{networks[key]} overlaps liftoff:{other} ({networks[other]}); allowed: disjoint ranges",
                )
