"""Settings of scale to zero: minReplicas 0 is allowed where idle can mean no GPU node, and the idle window
and the cold-start hold are read and checked."""

from __future__ import annotations

import pytest

from infra.settings import ConfigSource, Settings, SettingsError, load_settings

GPU_FLOORS = [
    ("aws", "awsGpuMinNodes"),
    ("gcp", "gcpGpuNodesMin"),
    ("azure", "azureGpuMinCount"),
]


CLOUD_REQUIRED: dict[str, dict[str, object]] = {
    "gcp": {
        "gcp:project": "my-project-1",
        "gcp:region": "us-central1",
        "gcp:zone": "us-central1-a",
        "gcpMasterAuthorizedNetworks": ["203.0.113.7/32"],
    },
    "aws": {"awsEndpointPublicCidrs": ["203.0.113.7/32"]},
    "azure": {"azureApiAuthorizedIpRanges": ["203.0.113.7/32"]},
}
"""Keys a cloud requires before anything else is checked."""


def load(cloud: str = "local", **values: object) -> Settings:
    return load_settings(
        ConfigSource.from_dict(
            {"cloud": cloud, "monitoring": False, **CLOUD_REQUIRED.get(cloud, {}), **values}
        )
    )


def test_min_replicas_zero_is_allowed_and_reads_the_idle_window_and_the_hold() -> None:
    settings = load(minReplicas=0, idleMinutes=7, coldStartTimeoutSeconds=420)
    assert settings.scales_to_zero
    assert settings.scale_to_zero.idle_s == 7 * 60
    assert settings.scale_to_zero.cold_start_timeout_s == 420


def test_the_defaults_keep_one_pod() -> None:
    settings = load()
    assert settings.min_replicas == 1 and not settings.scales_to_zero
    assert settings.scale_to_zero.idle_minutes == 15
    assert settings.scale_to_zero.cold_start_timeout_s == 600


@pytest.mark.parametrize(("cloud", "floor_key"), GPU_FLOORS)
def test_min_replicas_zero_on_a_gpu_pool_that_keeps_a_node_names_both_keys(
    cloud: str, floor_key: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load(cloud, gpu=1, minReplicas=0, **{floor_key: 1})
    assert caught.value.key == "liftoff:minReplicas"
    message = str(caught.value)
    assert f"liftoff:{floor_key} is 1" in message
    assert "allowed: 0 with" in message and "or 1 to liftoff:maxReplicas" in message


@pytest.mark.parametrize(("cloud", "floor_key"), GPU_FLOORS)
def test_min_replicas_zero_on_a_gpu_pool_from_zero_is_allowed(cloud: str, floor_key: str) -> None:
    settings = load(cloud, gpu=1, minReplicas=0, **{floor_key: 0})
    assert settings.scales_to_zero


@pytest.mark.parametrize(("cloud", "floor_key"), GPU_FLOORS)
def test_a_pool_floor_is_fine_with_pods_kept(cloud: str, floor_key: str) -> None:
    assert load(cloud, gpu=1, minReplicas=1, **{floor_key: 1}).min_replicas == 1
