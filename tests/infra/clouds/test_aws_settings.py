"""The aws stack's settings: defaults, and bad values rejected with the key's name and what is allowed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from infra.clouds.aws.settings import GPU_FAMILIES, AwsSettings, load
from infra.settings import ConfigSource, SettingsError
from infra.versions import AUTOSCALER_IMAGE_TAGS, KUBERNETES

MY_ADDRESS = {"awsEndpointPublicCidrs": ["203.0.113.7/32"]}
"""The API answers only listed networks by default: every other test gives it one."""


def settings(**overrides: Any) -> AwsSettings:
    base = {} if "awsEndpointAccess" in overrides or "awsEndpointPublicCidrs" in overrides else MY_ADDRESS
    return load(ConfigSource.from_dict({"cloud": "aws", **base, **overrides}))


def rejected(**overrides: Any) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        settings(**overrides)
    return caught.value


def test_defaults_give_one_g5_xlarge_gpu_pool_that_scales_from_zero() -> None:
    loaded = settings()
    assert loaded.gpu_pool is not None
    assert loaded.gpu_pool.instance_types == ("g5.xlarge",)
    assert loaded.gpu_pool.gpus_per_node == 1
    assert (loaded.gpu_pool.min_nodes, loaded.gpu_pool.desired_nodes) == (0, 0)
    assert loaded.gpu_pool.disk_gib >= 100
    assert loaded.gpu_pool.spot is False
    assert loaded.availability_zones >= 2
    assert loaded.nat_per_az is False
    assert loaded.endpoint_access == "restricted"


def test_every_pinned_kubernetes_minor_has_its_cluster_autoscaler_tag() -> None:
    for minor in KUBERNETES["aws"]:
        # cluster-autoscaler must follow the control plane's minor version.
        assert AUTOSCALER_IMAGE_TAGS[minor].tag.startswith(f"v{minor}.")


def test_the_default_minor_is_in_standard_support_and_its_upgrade_policy_is_standard() -> None:
    loaded = settings()
    assert loaded.kubernetes_version == "1.35"
    assert loaded.allow_extended_support is False


def test_a_minor_past_standard_support_is_refused_unless_extended_support_is_allowed() -> None:
    error = rejected(awsKubernetesVersion="1.34")
    assert error.key == "liftoff:awsKubernetesVersion"
    assert "2026-12-02" in str(error) and "allowExtendedSupport" in str(error) and "1.35" in str(error)
    extended = load(
        ConfigSource.from_dict(
            {"cloud": "aws", "awsKubernetesVersion": "1.34", "allowExtendedSupport": True, **MY_ADDRESS}
        )
    )
    assert extended.kubernetes_version == "1.34" and extended.allow_extended_support is True


def test_the_day_before_its_end_1_34_is_still_accepted() -> None:
    loaded = load(
        ConfigSource.from_dict({"cloud": "aws", "awsKubernetesVersion": "1.34", **MY_ADDRESS}),
        date(2026, 12, 1),
    )
    assert loaded.kubernetes_version == "1.34"


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1"])
def test_real_region_names_are_accepted(region: str) -> None:
    assert settings(awsRegion=region).region == region


@pytest.mark.parametrize("region", ["us-east", "US-EAST-1", "useast1", "us-east-1a", "mars"])
def test_a_string_that_is_not_a_region_names_the_key(region: str) -> None:
    error = rejected(awsRegion=region)
    assert error.key == "liftoff:awsRegion"
    assert region in str(error)


@pytest.mark.parametrize(
    "instance_type", ["m5.large", "t3.xlarge", "g4ad.xlarge", "g5g.xlarge", "inf2.xlarge"]
)
def test_an_instance_type_without_an_nvidia_gpu_is_refused_for_the_gpu_pool(instance_type: str) -> None:
    error = rejected(awsGpuInstanceTypes=[instance_type])
    assert error.key == "liftoff:awsGpuInstanceTypes"
    assert instance_type in str(error)
    assert "g5" in str(error)  # the allowed families are listed


def test_a_cpu_type_is_fine_when_no_gpu_pool_is_asked_for() -> None:
    assert settings(awsGpuPool=False, awsGpuInstanceTypes=["m5.large"]).gpu_pool is None


def test_gpus_per_pod_without_a_gpu_pool_is_refused() -> None:
    error = rejected(awsGpuPool=False, gpu=1)
    assert error.key == "liftoff:awsGpuPool"


@pytest.mark.parametrize(
    ("instance_type", "gpus"), [("g6e.xlarge", 1), ("g5.12xlarge", 4), ("p4d.24xlarge", 8)]
)
def test_the_gpu_count_per_node_follows_the_instance_type(instance_type: str, gpus: int) -> None:
    pool = settings(awsGpuInstanceTypes=[instance_type]).gpu_pool
    assert pool is not None and pool.gpus_per_node == gpus


def test_gpu_types_with_different_gpu_counts_cannot_share_a_pool() -> None:
    error = rejected(awsGpuInstanceTypes=["g5.xlarge", "g5.12xlarge"])
    assert error.key == "liftoff:awsGpuInstanceTypes"


def test_an_unknown_size_of_a_gpu_family_is_refused() -> None:
    error = rejected(awsGpuInstanceTypes=["g5.3xlarge"])
    assert "g5.xlarge" in str(error)


def test_gpu_min_above_max_names_the_min_key() -> None:
    error = rejected(awsGpuMinNodes=3, awsGpuMaxNodes=2)
    assert error.key == "liftoff:awsGpuMinNodes"
    assert "awsGpuMaxNodes" in str(error)


def test_system_min_above_max_names_the_min_key() -> None:
    assert rejected(awsSystemMinNodes=5, awsSystemMaxNodes=2).key == "liftoff:awsSystemMinNodes"


def test_desired_gpu_nodes_is_raised_to_the_minimum_and_refused_above_the_maximum() -> None:
    pool = settings(awsGpuMinNodes=1, awsGpuMaxNodes=3).gpu_pool
    assert pool is not None and pool.desired_nodes == 1
    assert rejected(awsGpuDesiredNodes=4, awsGpuMaxNodes=3).key == "liftoff:awsGpuDesiredNodes"


def test_a_gpu_disk_too_small_for_cuda_images_is_refused() -> None:
    assert rejected(awsGpuDiskGib=30).key == "liftoff:awsGpuDiskGib"


def test_restricted_endpoint_access_needs_cidrs_and_other_modes_refuse_them() -> None:
    assert rejected(awsEndpointAccess="restricted").key == "liftoff:awsEndpointPublicCidrs"
    error = rejected(awsEndpointAccess="public", awsEndpointPublicCidrs=["203.0.113.0/24"])
    assert error.key == "liftoff:awsEndpointPublicCidrs"
    loaded = settings(awsEndpointAccess="restricted", awsEndpointPublicCidrs=["203.0.113.0/24"])
    assert loaded.endpoint_public_cidrs == ("203.0.113.0/24",)


def test_the_api_is_not_open_to_the_internet_unless_the_stack_says_public() -> None:
    """No setting at all: restricted, and refused until the deployer's address is given, with the command
    that finds it and the explicit opt-out named."""
    error = load_error({"cloud": "aws"})
    assert error.key == "liftoff:awsEndpointPublicCidrs"
    assert "checkip.amazonaws.com" in str(error) and "awsEndpointAccess public" in str(error)
    assert settings(awsEndpointAccess="public").endpoint_access == "public"


def load_error(values: dict[str, Any]) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        load(ConfigSource.from_dict(values))
    return caught.value


def test_only_the_sign_in_log_goes_to_cloudwatch_unless_asked() -> None:
    assert settings().control_plane_logs == ("authenticator",)
    assert settings(awsControlPlaneLogs=["audit", "api"]).control_plane_logs == ("audit", "api")
    error = rejected(awsControlPlaneLogs=["everything"])
    assert error.key == "liftoff:awsControlPlaneLogs" and "controllerManager" in str(error)


def test_an_unknown_endpoint_mode_lists_the_allowed_ones() -> None:
    error = rejected(awsEndpointAccess="open")
    assert error.key == "liftoff:awsEndpointAccess"
    assert "public, restricted, private" in str(error)


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "10.0.0.0/24", "10.0.0.1/16", "fd00::/48"])
def test_a_vpc_range_that_cannot_hold_the_subnets_is_refused(cidr: str) -> None:
    assert rejected(awsVpcCidr=cidr).key == "liftoff:awsVpcCidr"


def test_one_zone_is_refused_because_eks_needs_two() -> None:
    assert rejected(awsAvailabilityZones=1).key == "liftoff:awsAvailabilityZones"


def test_an_unsupported_kubernetes_version_lists_the_pinned_ones() -> None:
    error = rejected(awsKubernetesVersion="1.29")
    assert error.key == "liftoff:awsKubernetesVersion"
    assert "1.35" in str(error)


def test_an_admin_principal_must_be_an_iam_role_or_user_arn() -> None:
    assert rejected(awsAdminPrincipalArn="admin").key == "liftoff:awsAdminPrincipalArn"
    arn = "arn:aws:iam::123456789012:role/platform-admins"
    assert settings(awsAdminPrincipalArn=arn).admin_principal_arn == arn


def test_the_gpu_families_listed_are_all_nvidia_x86() -> None:
    assert not {"g4ad", "g5g", "inf1", "inf2", "trn1"} & set(GPU_FAMILIES)
