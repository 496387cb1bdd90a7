"""The gcp stack's settings: defaults, and bad values rejected with the key's name and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from infra.clouds.gcp.settings import GcpSettings, load
from infra.settings import ConfigSource, SettingsError

VALID: dict[str, Any] = {
    "cloud": "gcp",
    "gcp:project": "my-project-1",
    "gcp:region": "us-central1",
    "gcp:zone": "us-central1-a",
    "gcpMasterAuthorizedNetworks": ["203.0.113.7/32"],
}


def settings(**overrides: Any) -> GcpSettings:
    return load(ConfigSource.from_dict({**VALID, **overrides}))


def rejected(**overrides: Any) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        settings(**overrides)
    return caught.value


def test_defaults_give_a_zonal_cluster_with_one_l4_per_gpu_node_scaling_from_zero() -> None:
    loaded = settings()
    assert loaded.location == "us-central1-a"
    assert (loaded.gpu_machine_type, loaded.gpu_accelerator_type, loaded.gpu_accelerator_count) == (
        "g2-standard-8",
        "nvidia-l4",
        1,
    )
    assert loaded.gpu_nodes_min == 0
    assert loaded.release_channel == "REGULAR"
    assert loaded.deletion_protection is False


def test_regional_mode_puts_the_cluster_in_the_region_and_ignores_the_zone() -> None:
    loaded = settings(gcpLocationMode="regional", **{"gcp:zone": ""})
    assert loaded.location == "us-central1"
    assert loaded.zone is None


@pytest.mark.parametrize(
    ("machine_type", "accelerator", "count"),
    [
        ("g2-standard-24", "nvidia-l4", 2),
        ("a2-highgpu-1g", "nvidia-tesla-a100", 1),
        ("a2-ultragpu-2g", "nvidia-a100-80gb", 2),
        ("a3-highgpu-8g", "nvidia-h100-80gb", 8),
        ("a3-megagpu-8g", "nvidia-h100-mega-80gb", 8),
        ("a3-ultragpu-8g", "nvidia-h200-141gb", 8),
        ("n1-standard-8", "nvidia-tesla-t4", 1),
    ],
)
def test_accelerator_and_count_follow_the_machine_type(
    machine_type: str, accelerator: str, count: int
) -> None:
    loaded = settings(gcpGpuMachineType=machine_type)
    assert (loaded.gpu_accelerator_type, loaded.gpu_accelerator_count) == (accelerator, count)


def test_n1_takes_a_v100_when_asked() -> None:
    loaded = settings(gcpGpuMachineType="n1-standard-16", gcpGpuAcceleratorType="nvidia-tesla-v100")
    assert loaded.gpu_accelerator_type == "nvidia-tesla-v100"


@pytest.mark.parametrize(
    ("machine_type", "accelerator", "allowed"),
    [
        ("g2-standard-8", "nvidia-tesla-t4", "nvidia-l4"),
        ("a2-highgpu-1g", "nvidia-h100-80gb", "nvidia-tesla-a100"),
        ("a3-highgpu-8g", "nvidia-tesla-a100", "nvidia-h100-80gb"),
        ("n1-standard-8", "nvidia-l4", "nvidia-tesla-t4"),
    ],
)
def test_an_accelerator_the_machine_family_does_not_offer_is_rejected(
    machine_type: str, accelerator: str, allowed: str
) -> None:
    error = rejected(gcpGpuMachineType=machine_type, gcpGpuAcceleratorType=accelerator)
    assert error.key == "liftoff:gcpGpuAcceleratorType"
    assert accelerator in str(error) and machine_type in str(error) and allowed in str(error)


def test_a_machine_type_without_gpus_is_rejected() -> None:
    error = rejected(gcpGpuMachineType="e2-standard-8")
    assert error.key == "liftoff:gcpGpuMachineType"
    assert "g2-standard" in str(error)


def test_a_gpu_count_the_machine_type_does_not_carry_is_rejected() -> None:
    error = rejected(gcpGpuMachineType="g2-standard-8", gcpGpuAcceleratorCount=2)
    assert error.key == "liftoff:gcpGpuAcceleratorCount"
    assert "allowed: 1" in str(error)


def test_more_gpus_per_pod_than_a_node_has_is_rejected() -> None:
    error = rejected(gpu=2)
    assert error.key == "liftoff:gpu"


@pytest.mark.parametrize("prefix", ["gcpGpuNodes", "gcpSystemNodes"])
def test_min_nodes_above_max_is_rejected(prefix: str) -> None:
    error = rejected(**{f"{prefix}Min": 3, f"{prefix}Max": 2})
    assert error.key == f"liftoff:{prefix}Min"
    assert f"liftoff:{prefix}Max" in str(error)


def test_the_project_is_required() -> None:
    error = rejected(**{"gcp:project": ""})
    assert error.key == "gcp:project"


def test_a_zonal_cluster_needs_a_zone_in_the_region() -> None:
    assert rejected(**{"gcp:zone": ""}).key == "gcp:zone"
    error = rejected(**{"gcp:zone": "europe-west4-a"})
    assert error.key == "gcp:zone" and "us-central1" in str(error)


def test_gpu_zones_must_be_in_the_region_of_a_regional_cluster() -> None:
    assert settings(gcpLocationMode="regional", gcpGpuZones=["us-central1-b"]).gpu_zones == ("us-central1-b",)
    assert rejected(gcpLocationMode="regional", gcpGpuZones=["us-east1-b"]).key == "liftoff:gcpGpuZones"
    assert rejected(gcpGpuZones=["us-central1-b"]).key == "liftoff:gcpGpuZones"


def test_master_authorized_networks_are_required_and_must_be_cidrs() -> None:
    assert (
        rejected(gcpMasterAuthorizedNetworks=[], gcpDnsEndpoint=False).key
        == "liftoff:gcpMasterAuthorizedNetworks"
    )
    assert rejected(gcpMasterAuthorizedNetworks=["my-laptop"]).key == "liftoff:gcpMasterAuthorizedNetworks"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("gcpReleaseChannel", "EXTENDED_PLUS"),
        ("gcpLocationMode", "multi-regional"),
        ("gcpGpuDriverVersion", "INSTALLATION_DISABLED"),
    ],
)
def test_a_value_outside_the_allowed_set_names_the_key_and_the_choices(key: str, value: str) -> None:
    error = rejected(**{key: value})
    assert error.key == f"liftoff:{key}" and "allowed:" in str(error)


def test_a_kubernetes_version_older_than_1_33_is_rejected() -> None:
    assert rejected(gcpKubernetesVersion="1.31").key == "liftoff:gcpKubernetesVersion"


def test_overlapping_ranges_are_rejected() -> None:
    error = rejected(gcpPodsCidr="10.10.0.0/16")
    assert error.key == "liftoff:gcpPodsCidr" and "overlaps" in str(error)
