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

from infra.config_keys import ConfigSource, SettingsError

LOCATION_MODES = ("zonal", "regional")
RELEASE_CHANNELS = ("RAPID", "REGULAR", "STABLE")
GPU_DRIVER_VERSIONS = ("DEFAULT", "LATEST")
# Oldest minor GKE version this program is written and schema-checked against.
MIN_KUBERNETES_MINOR = 33

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


@dataclass(frozen=True)
class GcpSettings:
    project: str
    """Project ID everything is created in (`gcp:project`)."""
    region: str
    """Region of the network, the registry and a regional cluster (`gcp:region`)."""
    location_mode: str
    """"zonal": control plane and nodes in one zone (cheaper, GKE's free tier covers one zonal cluster);
    "regional": control plane replicated across the region's zones."""
    zone: str | None
    """The cluster's zone when zonal (`gcp:zone`); None when regional."""
    gpu_zones: tuple[str, ...]
    """GPU pool zones in a regional cluster (not every zone offers every GPU); empty: the cluster's."""
    release_channel: str
    kubernetes_version: str
    """Minimum control-plane version (`1.34`); the release channel upgrades from there."""
    master_authorized_networks: tuple[str, ...]
    """CIDRs allowed to reach the control plane's public endpoint (where `pulumi up` runs from)."""
    deletion_protection: bool
    subnet_cidr: str
    pods_cidr: str
    services_cidr: str
    system_machine_type: str
    system_nodes_min: int
    system_nodes_max: int
    gpu_machine_type: str
    gpu_accelerator_type: str
    gpu_accelerator_count: int
    """GPUs per GPU node."""
    gpu_nodes_min: int
    gpu_nodes_max: int
    gpu_spot: bool
    gpu_driver_version: str
    registry_keep_count: int
    """Image versions the Artifact Registry cleanup policy keeps; older ones are deleted."""

    @property
    def location(self) -> str:
        """Where the cluster lives: its zone (zonal) or its region (regional)."""
        return self.zone if self.zone is not None else self.region


def load(source: ConfigSource) -> GcpSettings:
    project = source.require_string("gcp:project", pattern=_PROJECT_ID)
    region = source.require_string("gcp:region", pattern=_REGION)
    location_mode = source.choice("gcpLocationMode", LOCATION_MODES, default="zonal")
    zone = _zone(source, region, location_mode)
    gpu_zones = _gpu_zones(source, region, location_mode)

    machine_type = source.string("gcpGpuMachineType", "g2-standard-8", pattern=_MACHINE_TYPE) or ""
    accelerator = accelerator_for(source, machine_type)
    accelerator_type = source.string("gcpGpuAcceleratorType", accelerator.type) or accelerator.type
    if accelerator_type != accelerator.type:
        raise SettingsError(
            source.key("gcpGpuAcceleratorType"),
            f"{accelerator_type!r} is not offered with {machine_type} "
            f"(liftoff:gcpGpuMachineType); allowed: {accelerator.type}",
        )
    # 0 (the default) takes the count the machine type carries (A and G series) or 1 (N1).
    count = (
        source.integer("gcpGpuAcceleratorCount", 0, minimum=0, maximum=16) or accelerator.allowed_counts[0]
    )
    if count not in accelerator.allowed_counts:
        raise SettingsError(
            source.key("gcpGpuAcceleratorCount"),
            f"{count} GPUs of {accelerator_type} do not fit {machine_type}; "
            f"allowed: {', '.join(map(str, accelerator.allowed_counts))}",
        )
    pod_gpus = source.integer("gpu", 0, minimum=0, maximum=16)
    if pod_gpus > count:
        raise SettingsError(
            source.key("gpu"),
            f"{pod_gpus} GPUs per pod cannot fit a GPU node with {count} (liftoff:gcpGpuAcceleratorCount); "
            f"allowed: 0 to {count}",
        )

    system_min, system_max = _node_range(source, "gcpSystemNodes", default_min=1, default_max=3, floor=1)
    gpu_min, gpu_max = _node_range(source, "gcpGpuNodes", default_min=0, default_max=2, floor=0)
    pods_cidr, services_cidr, subnet_cidr = _ranges(source)

    return GcpSettings(
        project=project,
        region=region,
        location_mode=location_mode,
        zone=zone,
        gpu_zones=gpu_zones,
        release_channel=source.choice("gcpReleaseChannel", RELEASE_CHANNELS, default="REGULAR"),
        kubernetes_version=_kubernetes_version(source),
        master_authorized_networks=_master_networks(source),
        deletion_protection=source.boolean("gcpDeletionProtection", False),
        subnet_cidr=subnet_cidr,
        pods_cidr=pods_cidr,
        services_cidr=services_cidr,
        system_machine_type=source.string("gcpSystemMachineType", "e2-standard-4", pattern=_MACHINE_TYPE)
        or "e2-standard-4",
        system_nodes_min=system_min,
        system_nodes_max=system_max,
        gpu_machine_type=machine_type,
        gpu_accelerator_type=accelerator_type,
        gpu_accelerator_count=count,
        gpu_nodes_min=gpu_min,
        gpu_nodes_max=gpu_max,
        gpu_spot=source.boolean("gcpGpuSpot", False),
        gpu_driver_version=source.choice("gcpGpuDriverVersion", GPU_DRIVER_VERSIONS, default="LATEST"),
        registry_keep_count=source.integer("gcpRegistryKeepCount", 10, minimum=1, maximum=1000),
    )


def accelerator_for(source: ConfigSource, machine_type: str) -> Accelerator:
    """The GPU a machine type carries (A/G series) or accepts (N1); SettingsError for any other family."""
    if machine_type.startswith("n1-"):
        requested = source.string("gcpGpuAcceleratorType")
        if requested is None:
            return Accelerator("nvidia-tesla-t4", _N1_ACCELERATORS["nvidia-tesla-t4"])
        if requested not in _N1_ACCELERATORS:
            raise SettingsError(
                source.key("gcpGpuAcceleratorType"),
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
        source.key("gcpGpuMachineType"),
        f"{machine_type!r} carries no GPU this program knows; allowed: g2-standard-<4|8|12|16|24|32|48|96> "
        "(nvidia-l4), g4-standard-<48|96|192|384>, a2-highgpu-<n>g, a2-ultragpu-<n>g, a3-highgpu-<n>g, "
        "a3-megagpu-8g, a3-ultragpu-8g, a4-highgpu-8g, or n1-* with nvidia-tesla-t4|p4|p100|v100",
    )


def _zone(source: ConfigSource, region: str, location_mode: str) -> str | None:
    zone = source.string("gcp:zone", pattern=r"[a-z]+-[a-z]+[0-9]+-[a-z]")
    if location_mode == "regional":
        return None
    if zone is None:
        raise SettingsError(
            source.key("gcp:zone"),
            f"is required when liftoff:gcpLocationMode is zonal; allowed: a zone of {region} ({region}-a)",
        )
    if not zone.startswith(f"{region}-"):
        raise SettingsError(
            source.key("gcp:zone"), f"{zone!r} is not in gcp:region {region}; allowed: {region}-<x>"
        )
    return zone


def _gpu_zones(source: ConfigSource, region: str, location_mode: str) -> tuple[str, ...]:
    zones = source.strings("gcpGpuZones")
    if zones and location_mode != "regional":
        raise SettingsError(
            source.key("gcpGpuZones"),
            "only applies to a regional cluster (liftoff:gcpLocationMode regional); allowed: unset if zonal",
        )
    for zone in zones:
        if not re.fullmatch(rf"{re.escape(region)}-[a-z]", zone):
            raise SettingsError(source.key("gcpGpuZones"), f"{zone!r} is not a zone of {region}")
    return zones


def _node_range(
    source: ConfigSource, prefix: str, *, default_min: int, default_max: int, floor: int
) -> tuple[int, int]:
    low = source.integer(f"{prefix}Min", default_min, minimum=floor, maximum=1000)
    high = source.integer(f"{prefix}Max", default_max, minimum=max(floor, 1), maximum=1000)
    if low > high:
        raise SettingsError(
            source.key(f"{prefix}Min"),
            f"{low} is above liftoff:{prefix}Max ({high}); allowed: {floor} to {high}",
        )
    return low, high


def _kubernetes_version(source: ConfigSource) -> str:
    version = source.string("gcpKubernetesVersion", "1.34", pattern=r"1\.[0-9]+") or "1.34"
    if int(version.split(".")[1]) < MIN_KUBERNETES_MINOR:
        raise SettingsError(
            source.key("gcpKubernetesVersion"),
            f"{version} is older than this program supports; allowed: 1.{MIN_KUBERNETES_MINOR} or newer",
        )
    return version


def _master_networks(source: ConfigSource) -> tuple[str, ...]:
    networks = source.cidrs("gcpMasterAuthorizedNetworks")
    if not networks:
        raise SettingsError(
            source.key("gcpMasterAuthorizedNetworks"),
            "is required: the CIDRs allowed to reach the cluster's control plane, e.g. your address as "
            '["203.0.113.7/32"] (`curl -s https://ifconfig.me`)',
        )
    return networks


def _ranges(source: ConfigSource) -> tuple[str, str, str]:
    """Subnet, pod and service ranges: each a private network, none overlapping another."""
    ranges = {
        "gcpPodsCidr": source.cidr("gcpPodsCidr", "10.20.0.0/16"),
        "gcpServicesCidr": source.cidr("gcpServicesCidr", "10.30.0.0/20"),
        "gcpSubnetCidr": source.cidr("gcpSubnetCidr", "10.10.0.0/20"),
    }
    networks = {key: ipaddress.ip_network(value) for key, value in ranges.items()}
    for key, network in networks.items():
        if network.version != 4 or not network.is_private:
            raise SettingsError(source.key(key), f"{network} is not a private IPv4 range; allowed: RFC 1918")
    keys = list(networks)
    for i, key in enumerate(keys):
        for other in keys[i + 1 :]:
            if networks[key].overlaps(networks[other]):
                raise SettingsError(
                    source.key(key),
                    f"{networks[key]} overlaps liftoff:{other} ({networks[other]}); allowed: disjoint ranges",
                )
    return ranges["gcpPodsCidr"], ranges["gcpServicesCidr"], ranges["gcpSubnetCidr"]
