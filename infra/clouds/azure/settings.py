"""Settings of the `azure` cloud: AKS with a system pool and a GPU pool, ACR, in one resource group.

Keys carry the `azure` prefix (`liftoff:azureLocation`, ...) and are declared in Pulumi.yaml. The Azure
subscription and tenant come from the deployer's login (`az login`), never from this file.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from infra import versions
from infra.config_keys import (
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

# NVIDIA GPU sizes are the N-series: NC (compute), ND (training), NV (visualisation). The NVv4 sizes
# (`Standard_NV..as_v4`) and the NG sizes carry AMD GPUs, which the NVIDIA device plugin cannot serve.
_NVIDIA_GPU_SIZE = re.compile(r"Standard_N[CDV]\w+")
_AMD_GPU_SIZE = re.compile(r"Standard_(NV\d+as_v4|NG\w+)", re.IGNORECASE)
_VM_SIZE = r"Standard_[A-Za-z0-9_]+"
# Sizes Azure has retired, with the page that says so and the sizes it names instead: a pool of them fails.
RETIRED_SIZES = (
    (
        re.compile(r"Standard_NC\d+r?s_v3", re.IGNORECASE),
        "Azure retired the NCv3 sizes (V100) on 2025-09-30 (MicrosoftDocs/azure-docs, articles/"
        "virtual-machines/ncv3-nc6s-nc12s-nc24s-retirement.md, read 2026-12-07)",
        "Standard_NC24ads_A100_v4 (A100, Azure's named replacement), Standard_NC4as_T4_v3 (T4) or "
        "Standard_NC40ads_H100_v5 (H100)",
    ),
)
# GPUs per VM of the common NVIDIA sizes, to catch a pod asking for more GPUs than a node has (it would
# stay Pending forever). Sizes not listed are not checked.
GPUS_PER_VM = {
    "Standard_NC4as_T4_v3": 1,
    "Standard_NC8as_T4_v3": 1,
    "Standard_NC16as_T4_v3": 1,
    "Standard_NC64as_T4_v3": 4,
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
_KUBERNETES_VERSION = r"1\.\d+(\.\d+)?"
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Azure region names as the CLI spells them (`eastus`, `westeurope`, `swedencentral`).
_LOCATION = r"[a-z][a-z0-9]{2,30}"
# Resource group names allow more, but the prefix also seeds the registry's name (letters and digits).
_PREFIX = r"[a-z][a-z0-9]{1,19}"


KubernetesVersion = Annotated[str, StringConstraints(pattern=rf"^{_KUBERNETES_VERSION}$")]
Location = Annotated[str, StringConstraints(pattern=rf"^{_LOCATION}$")]
Prefix = Annotated[str, StringConstraints(pattern=rf"^{_PREFIX}$")]
VmSize = Annotated[str, StringConstraints(pattern=rf"^{_VM_SIZE}$")]


class AzureSettings(StackModel):
    location: Location = Field("eastus", alias="azureLocation")
    """Azure region of every resource; it must offer the GPU size (check `az vm list-skus`)."""
    name_prefix: Prefix = Field("liftoff", alias="azureNamePrefix")
    """Seeds the resource group (`<prefix>-<stack>`), cluster and registry names."""
    kubernetes_version: KubernetesVersion = Field(DEFAULT_MINOR, alias="azureKubernetesVersion")
    """AKS version, a minor (`1.35`, newest patch) or a full version; the patch channel keeps it current.
    Refused once past its end of standard support (AKS creates no new cluster on it then)."""
    network_policy: Literal["cilium", "azure"] = Field("cilium", alias="azureNetworkPolicy")
    """"cilium" (Azure CNI powered by Cilium, its dataplane too) or "azure" (Azure Network Policy Manager)."""
    system_vm_size: VmSize = Field("Standard_D4s_v5", alias="azureSystemVmSize")
    system_min_count: int = Field(1, ge=1, le=1000, alias="azureSystemMinCount")
    system_max_count: int = Field(3, ge=1, le=1000, alias="azureSystemMaxCount")
    gpu_pool: bool = False
    """A GPU pool exists: the service asks for GPUs (`liftoff:gpu` > 0). Derived, not a key."""
    gpu_vm_size: VmSize = Field("Standard_NC4as_T4_v3", alias="azureGpuVmSize")
    gpu_min_count: int = Field(0, ge=0, le=1000, alias="azureGpuMinCount")
    gpu_max_count: int = Field(4, ge=1, le=1000, alias="azureGpuMaxCount")
    gpu_spot: bool = Field(False, alias="azureGpuSpot")
    """Spot VMs for the GPU pool: far cheaper, evicted (deleted) when Azure needs the capacity back."""
    gpu_os_disk_gb: int = Field(128, ge=64, le=2048, alias="azureGpuOsDiskGb")
    """OS disk per GPU node; CUDA images are several GB and the node keeps a few versions of them."""
    acr_sku: Literal["Basic", "Standard", "Premium"] = Field("Basic", alias="azureAcrSku")
    api_authorized_ip_ranges: Cidrs = Field((), alias="azureApiAuthorizedIpRanges")
    """Networks allowed to reach the Kubernetes API (where `pulumi up` and kubectl run from); required
    unless `api_open_to_internet`."""
    api_open_to_internet: bool = Field(False, alias="azureApiOpenToInternet")
    """The explicit opt-out: no authorized ranges, the API answers any address (Entra ID still decides)."""
    admin_group_object_ids: Strings = Field((), alias="azureAdminGroupObjectIds")
    """Entra ID groups made cluster admins (besides the deployer, when `grant_deployer_roles`)."""
    deployer_principal_type: Literal["User", "ServicePrincipal"] = Field(
        "User", alias="azureDeployerPrincipalType"
    )
    """"User" (a person's `az login`) or "ServicePrincipal" (CI): Azure rejects a role assignment whose
    principal type does not match the principal."""
    grant_deployer_roles: bool = Field(True, alias="azureGrantDeployerRoles")
    """Give the identity running `pulumi up` AKS RBAC Cluster Admin on the cluster and AcrPush on the
    registry (it needs the right to assign roles: Owner, or User Access Administrator)."""

    @model_validator(mode="before")
    @classmethod
    def _gpu_pool_follows_the_pods(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict):
            return {**data, "gpu_pool": pod_gpus(info.context) > 0}
        return data

    @field_validator("kubernetes_version")
    @classmethod
    def _supported_minor(cls, version: str, info: ValidationInfo) -> str:
        problem = versions.refusal(
            "azure", version, today(info.context), extended=allow_extended_support(info.context)
        )
        if problem is not None:
            raise SettingsError(
                "liftoff:azureKubernetesVersion", problem + " (`az aks get-versions` lists them)"
            )
        return version

    @field_validator("admin_group_object_ids")
    @classmethod
    def _object_ids(cls, groups: tuple[str, ...]) -> tuple[str, ...]:
        for group in groups:
            if not re.fullmatch(_GUID, group):
                raise SettingsError(
                    "liftoff:azureAdminGroupObjectIds",
                    f"{group!r} is not an object id; allowed: Entra ID group object ids (GUIDs)",
                )
        return groups

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        _ordered("azureSystemMinCount", self.system_min_count, "azureSystemMaxCount", self.system_max_count)
        _ordered("azureGpuMinCount", self.gpu_min_count, "azureGpuMaxCount", self.gpu_max_count)
        if not self.grant_deployer_roles and not self.admin_group_object_ids:
            raise SettingsError(
                "liftoff:azureGrantDeployerRoles",
                "false leaves the cluster without an administrator (local accounts are disabled); "
                "allowed: true, or false with liftoff:azureAdminGroupObjectIds set",
            )
        _check_gpu_vm_size(self.gpu_vm_size, pod_gpus(info.context))
        if not self.api_authorized_ip_ranges and not self.api_open_to_internet:
            raise SettingsError(
                "liftoff:azureApiAuthorizedIpRanges",
                "is required: the API is not open to the internet by default; allowed: your address as a "
                "CIDR, e.g. pulumi config set --path 'liftoff:azureApiAuthorizedIpRanges[0]' "
                '"$(curl -s https://checkip.amazonaws.com)/32", or liftoff:azureApiOpenToInternet true',
            )
        if self.api_authorized_ip_ranges and self.api_open_to_internet:
            raise SettingsError(
                "liftoff:azureApiOpenToInternet",
                "true contradicts liftoff:azureApiAuthorizedIpRanges; allowed: one of the two",
            )
        return self

    def version_warnings(self, day: date) -> list[str]:
        return versions.expiry_warnings("azure", self.kubernetes_version, day)

    gpu_pool_size_key: ClassVar[str] = "azureGpuMaxCount"

    def gpu_pod_capacity(self, gpus_per_pod: int) -> int | None:
        """Inference pods the GPU pool holds at its largest (None: a size whose GPU count is not listed)."""
        on_vm = GPUS_PER_VM.get(self.gpu_vm_size)
        return None if on_vm is None else self.gpu_max_count * (on_vm // gpus_per_pod)

    @property
    def idle_gpu_nodes(self) -> GpuFloor | None:
        """GPU nodes the pool keeps while no pod asks (None: no GPU pool)."""
        if not self.gpu_pool:
            return None
        return GpuFloor("liftoff:azureGpuMinCount", self.gpu_min_count)


MODEL = AzureSettings


def load(source: ConfigSource, today: date | None = None) -> AzureSettings:
    return load_cloud(AzureSettings, source, today)


def _check_gpu_vm_size(size: str, gpus_per_pod: int) -> None:
    key = "liftoff:azureGpuVmSize"
    if gpus_per_pod == 0:
        return
    for retired, why, instead in RETIRED_SIZES:
        if retired.fullmatch(size):
            raise SettingsError(key, f"{size}: {why}; allowed: a current size such as {instead}")
    if _AMD_GPU_SIZE.fullmatch(size) or not _NVIDIA_GPU_SIZE.fullmatch(size):
        raise SettingsError(
            key,
            f"{size!r} is not an NVIDIA GPU size, and liftoff:gpu asks for a GPU pool; allowed: an N-series "
            "size with NVIDIA GPUs (Standard_NC..., Standard_ND..., Standard_NV... other than the AMD "
            "NVv4), e.g. Standard_NC4as_T4_v3",
        )
    on_vm = GPUS_PER_VM.get(size)
    if on_vm is not None and gpus_per_pod > on_vm:
        raise SettingsError(
            key,
            f"{size} has {on_vm} GPU(s) per node but liftoff:gpu asks {gpus_per_pod} per pod; "
            f"allowed: a size with at least {gpus_per_pod} GPUs, or liftoff:gpu at most {on_vm}",
        )


def _ordered(min_key: str, minimum: int, max_key: str, maximum: int) -> None:
    if minimum > maximum:
        raise SettingsError(
            f"liftoff:{min_key}",
            f"{minimum} is above liftoff:{max_key} ({maximum}); allowed: at most liftoff:{max_key}",
        )
