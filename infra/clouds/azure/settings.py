"""Settings of the `azure` cloud: AKS with a system pool and a GPU pool, ACR, in one resource group.

Keys carry the `azure` prefix (`liftoff:azureLocation`, ...) and are declared in Pulumi.yaml. The Azure
subscription and tenant come from the deployer's login (`az login`), never from this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.config_keys import ConfigSource, SettingsError

# AKS standard support is about a year per minor version; below this the stack would start on a
# version in platform support only, and the schema tests pin no older API.
MIN_KUBERNETES_MINOR = 33
NETWORK_POLICIES = ("cilium", "azure")
ACR_SKUS = ("Basic", "Standard", "Premium")
# NVIDIA GPU sizes are the N-series: NC (compute), ND (training), NV (visualisation). The NVv4 sizes
# (`Standard_NV..as_v4`) and the NG sizes carry AMD GPUs, which the NVIDIA device plugin cannot serve.
_NVIDIA_GPU_SIZE = re.compile(r"Standard_N[CDV]\w+")
_AMD_GPU_SIZE = re.compile(r"Standard_(NV\d+as_v4|NG\w+)", re.IGNORECASE)
_VM_SIZE = r"Standard_[A-Za-z0-9_]+"
# GPUs per VM of the common NVIDIA sizes, to catch a pod asking for more GPUs than a node has (it would
# stay Pending forever). Sizes not listed are not checked.
GPUS_PER_VM = {
    "Standard_NC4as_T4_v3": 1,
    "Standard_NC8as_T4_v3": 1,
    "Standard_NC16as_T4_v3": 1,
    "Standard_NC64as_T4_v3": 4,
    "Standard_NC6s_v3": 1,
    "Standard_NC12s_v3": 2,
    "Standard_NC24s_v3": 4,
    "Standard_NC24ads_A100_v4": 1,
    "Standard_NC48ads_A100_v4": 2,
    "Standard_NC96ads_A100_v4": 4,
    "Standard_NC40ads_H100_v5": 1,
    "Standard_NC80adis_H100_v5": 2,
    "Standard_NV36ads_A10_v5": 1,
    "Standard_NV72ads_A10_v5": 2,
    "Standard_ND96asr_v4": 8,
    "Standard_ND96amsr_A100_v4": 8,
    "Standard_ND96isr_H100_v5": 8,
}
PRINCIPAL_TYPES = ("User", "ServicePrincipal")
_KUBERNETES_VERSION = r"1\.\d+(\.\d+)?"
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Azure region names as the CLI spells them (`eastus`, `westeurope`, `swedencentral`).
_LOCATION = r"[a-z][a-z0-9]{2,30}"
# Resource group names allow more, but the prefix also seeds the registry's name (letters and digits).
_PREFIX = r"[a-z][a-z0-9]{1,19}"


@dataclass(frozen=True)
class AzureSettings:
    location: str
    """Azure region of every resource; it must offer the GPU size (check `az vm list-skus`)."""
    name_prefix: str
    """Seeds the resource group (`<prefix>-<stack>`), cluster and registry names."""
    kubernetes_version: str
    """AKS version, a minor (`1.34`, newest patch) or a full version; the patch channel keeps it current."""
    network_policy: str
    """"cilium" (Azure CNI powered by Cilium, its dataplane too) or "azure" (Azure Network Policy Manager)."""
    system_vm_size: str
    system_min_count: int
    system_max_count: int
    gpu_pool: bool
    """A GPU pool exists: the service asks for GPUs (`liftoff:gpu` > 0)."""
    gpu_vm_size: str
    gpu_min_count: int
    gpu_max_count: int
    gpu_spot: bool
    """Spot VMs for the GPU pool: far cheaper, evicted (deleted) when Azure needs the capacity back."""
    gpu_os_disk_gb: int
    """OS disk per GPU node; CUDA images are several GB and the node keeps a few versions of them."""
    acr_sku: str
    api_authorized_ip_ranges: tuple[str, ...]
    """Networks allowed to reach the Kubernetes API (where `pulumi up` and kubectl run from); empty: any
    network, with Entra ID still required for every request."""
    admin_group_object_ids: tuple[str, ...]
    """Entra ID groups made cluster admins (besides the deployer, when `grant_deployer_roles`)."""
    deployer_principal_type: str
    """"User" (a person's `az login`) or "ServicePrincipal" (CI): Azure rejects a role assignment whose
    principal type does not match the principal."""
    grant_deployer_roles: bool
    """Give the identity running `pulumi up` AKS RBAC Cluster Admin on the cluster and AcrPush on the
    registry (it needs the right to assign roles: Owner, or User Access Administrator)."""


def load(source: ConfigSource) -> AzureSettings:
    gpus_per_pod = source.integer("gpu", 0, minimum=0, maximum=16)
    gpu_pool = gpus_per_pod > 0
    system_min, system_max = _counts(source, "azureSystemMinCount", 1, "azureSystemMaxCount", 3, floor=1)
    gpu_min, gpu_max = _counts(source, "azureGpuMinCount", 0, "azureGpuMaxCount", 2, floor=0)
    admin_groups = source.strings("azureAdminGroupObjectIds")
    for group in admin_groups:
        if not re.fullmatch(_GUID, group):
            raise SettingsError(
                source.key("azureAdminGroupObjectIds"),
                f"{group!r} is not an object id; allowed: Entra ID group object ids (GUIDs)",
            )
    grant_deployer_roles = source.boolean("azureGrantDeployerRoles", True)
    if not grant_deployer_roles and not admin_groups:
        raise SettingsError(
            source.key("azureGrantDeployerRoles"),
            "false leaves the cluster without an administrator (local accounts are disabled); "
            "allowed: true, or false with liftoff:azureAdminGroupObjectIds set",
        )
    return AzureSettings(
        location=source.string("azureLocation", "eastus", pattern=_LOCATION) or "eastus",
        name_prefix=source.string("azureNamePrefix", "liftoff", pattern=_PREFIX) or "liftoff",
        kubernetes_version=_kubernetes_version(source),
        network_policy=source.choice("azureNetworkPolicy", NETWORK_POLICIES, default="cilium"),
        system_vm_size=source.string("azureSystemVmSize", "Standard_D4s_v5", pattern=_VM_SIZE)
        or "Standard_D4s_v5",
        system_min_count=system_min,
        system_max_count=system_max,
        gpu_pool=gpu_pool,
        gpu_vm_size=_gpu_vm_size(source, gpus_per_pod),
        gpu_min_count=gpu_min,
        gpu_max_count=gpu_max,
        gpu_spot=source.boolean("azureGpuSpot", False),
        gpu_os_disk_gb=source.integer("azureGpuOsDiskGb", 128, minimum=64, maximum=2048),
        acr_sku=source.choice("azureAcrSku", ACR_SKUS, default="Basic"),
        api_authorized_ip_ranges=source.cidrs("azureApiAuthorizedIpRanges"),
        admin_group_object_ids=admin_groups,
        deployer_principal_type=source.choice("azureDeployerPrincipalType", PRINCIPAL_TYPES, default="User"),
        grant_deployer_roles=grant_deployer_roles,
    )


def _kubernetes_version(source: ConfigSource) -> str:
    key = "azureKubernetesVersion"
    version = source.string(key, "1.34", pattern=_KUBERNETES_VERSION) or "1.34"
    if int(version.split(".")[1]) < MIN_KUBERNETES_MINOR:
        raise SettingsError(
            source.key(key),
            f"{version} is older than AKS supports for new clusters here; allowed: 1.{MIN_KUBERNETES_MINOR} "
            "or newer (`az aks get-versions --location <region>` lists them)",
        )
    return version


def _gpu_vm_size(source: ConfigSource, gpus_per_pod: int) -> str:
    key = "azureGpuVmSize"
    size = source.string(key, "Standard_NC4as_T4_v3", pattern=_VM_SIZE) or "Standard_NC4as_T4_v3"
    if gpus_per_pod == 0:
        return size
    if _AMD_GPU_SIZE.fullmatch(size) or not _NVIDIA_GPU_SIZE.fullmatch(size):
        raise SettingsError(
            source.key(key),
            f"{size!r} is not an NVIDIA GPU size, and liftoff:gpu asks for a GPU pool; allowed: an N-series "
            "size with NVIDIA GPUs (Standard_NC..., Standard_ND..., Standard_NV... other than the AMD "
            "NVv4), e.g. Standard_NC4as_T4_v3",
        )
    on_vm = GPUS_PER_VM.get(size)
    if on_vm is not None and gpus_per_pod > on_vm:
        raise SettingsError(
            source.key(key),
            f"{size} has {on_vm} GPU(s) per node but liftoff:gpu asks {gpus_per_pod} per pod; "
            f"allowed: a size with at least {gpus_per_pod} GPUs, or liftoff:gpu at most {on_vm}",
        )
    return size


def _counts(
    source: ConfigSource, min_key: str, min_default: int, max_key: str, max_default: int, *, floor: int
) -> tuple[int, int]:
    minimum = source.integer(min_key, min_default, minimum=floor, maximum=1000)
    maximum = source.integer(max_key, max_default, minimum=1, maximum=1000)
    if minimum > maximum:
        raise SettingsError(
            source.key(min_key),
            f"{minimum} is above {source.key(max_key)} ({maximum}); allowed: at most {source.key(max_key)}",
        )
    return minimum, maximum
