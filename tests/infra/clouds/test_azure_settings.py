"""Azure settings: defaults a user can deploy, and each wrong value named by its key with what is allowed."""

from __future__ import annotations

import pytest

from infra.clouds.azure.settings import AzureSettings, load
from infra.settings import ConfigSource, SettingsError

GROUP = "11111111-2222-3333-4444-555555555555"


def settings(**values: object) -> AzureSettings:
    return load(
        ConfigSource.from_dict(
            {"cloud": "azure", "gpu": 1, "azureApiAuthorizedIpRanges": ["203.0.113.7/32"], **values}
        )
    )


def test_defaults_ask_for_a_t4_pool_that_scales_from_zero() -> None:
    azure = settings()
    assert azure.gpu_pool is True
    assert azure.gpu_vm_size == "Standard_NC4as_T4_v3"
    assert (azure.gpu_min_count, azure.gpu_max_count) == (0, 4)
    assert azure.gpu_spot is False
    assert azure.network_policy == "cilium"
    assert azure.grant_deployer_roles is True
    assert azure.deployer_principal_type == "User"


def test_the_default_kubernetes_version_is_a_supported_minor() -> None:
    major, minor = settings().kubernetes_version.split(".")[:2]
    assert major == "1" and int(minor) >= 33


def test_no_gpu_means_no_gpu_pool_and_the_gpu_size_is_not_checked() -> None:
    azure = settings(gpu=0, azureGpuVmSize="Standard_D4s_v5")
    assert azure.gpu_pool is False


@pytest.mark.parametrize(
    "size",
    [
        "Standard_NC4as_T4_v3",
        "Standard_NC24ads_A100_v4",
        "Standard_ND96isr_H100_v5",
        "Standard_NV36ads_A10_v5",
    ],
)
def test_nvidia_n_series_sizes_are_accepted(size: str) -> None:
    assert settings(azureGpuVmSize=size).gpu_vm_size == size


def test_admin_groups_are_read_as_a_list_of_object_ids() -> None:
    azure = settings(azureAdminGroupObjectIds=[GROUP])
    assert azure.admin_group_object_ids == (GROUP,)


def test_the_deployer_may_skip_its_roles_when_admin_groups_administer_the_cluster() -> None:
    azure = settings(azureGrantDeployerRoles=False, azureAdminGroupObjectIds=[GROUP])
    assert azure.grant_deployer_roles is False


@pytest.mark.parametrize(
    ("values", "key", "allowed"),
    [
        ({"azureGpuVmSize": "Standard_D4s_v5"}, "liftoff:azureGpuVmSize", "N-series"),
        ({"azureGpuVmSize": "Standard_NV16as_v4"}, "liftoff:azureGpuVmSize", "AMD"),
        ({"azureGpuVmSize": "Standard_NG32ads_V620_v1"}, "liftoff:azureGpuVmSize", "NVIDIA"),
        ({"azureGpuVmSize": "nc4as-t4"}, "liftoff:azureGpuVmSize", "pattern"),
        ({"gpu": 2}, "liftoff:azureGpuVmSize", "at least 2 GPUs"),
        ({"azureGpuMinCount": 3, "azureGpuMaxCount": 2}, "liftoff:azureGpuMinCount", "at most"),
        ({"azureGpuMinCount": -1}, "liftoff:azureGpuMinCount", "0 to 1000"),
        ({"azureGpuMaxCount": 0}, "liftoff:azureGpuMaxCount", "1 to 1000"),
        ({"azureSystemMinCount": 0}, "liftoff:azureSystemMinCount", "1 to 1000"),
        ({"azureSystemMinCount": 4, "azureSystemMaxCount": 3}, "liftoff:azureSystemMinCount", "at most"),
        ({"azureKubernetesVersion": "1.29"}, "liftoff:azureKubernetesVersion", "allowed: 1.35"),
        # AKS 1.34 reached its end of life in November 2026: no new cluster on it.
        ({"azureKubernetesVersion": "1.34"}, "liftoff:azureKubernetesVersion", "allowExtendedSupport"),
        ({"azureKubernetesVersion": "latest"}, "liftoff:azureKubernetesVersion", "pattern"),
        ({"azureNetworkPolicy": "calico"}, "liftoff:azureNetworkPolicy", "cilium, azure"),
        ({"azureAcrSku": "Free"}, "liftoff:azureAcrSku", "Basic, Standard, Premium"),
        ({"azureLocation": "East US"}, "liftoff:azureLocation", "pattern"),
        ({"azureNamePrefix": "Liftoff-Prod"}, "liftoff:azureNamePrefix", "pattern"),
        ({"azureAdminGroupObjectIds": ["admins"]}, "liftoff:azureAdminGroupObjectIds", "GUID"),
        ({"azureGrantDeployerRoles": False}, "liftoff:azureGrantDeployerRoles", "azureAdminGroupObjectIds"),
        (
            {"azureDeployerPrincipalType": "Group"},
            "liftoff:azureDeployerPrincipalType",
            "User, ServicePrincipal",
        ),
        ({"azureGpuOsDiskGb": 30}, "liftoff:azureGpuOsDiskGb", "64 to 2048"),
        ({"azureApiAuthorizedIpRanges": ["my-laptop"]}, "liftoff:azureApiAuthorizedIpRanges", "CIDR"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(
    values: dict[str, object], key: str, allowed: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        settings(**values)
    assert raised.value.key == key
    assert allowed in str(raised.value)


@pytest.mark.parametrize(
    "size", ["Standard_NC6s_v3", "Standard_NC12s_v3", "Standard_NC24s_v3", "Standard_NC24rs_v3"]
)
def test_retired_ncv3_sizes_are_refused_naming_the_replacements(size: str) -> None:
    with pytest.raises(SettingsError) as refused:
        settings(azureGpuVmSize=size)
    message = str(refused.value)
    assert "liftoff:azureGpuVmSize" in message and "2025-09-30" in message
    assert "Standard_NC24ads_A100_v4" in message
