"""Every cloud keeps its weights in a `weights.py` of one shape, and the service account every identity
trusts is the one the inference pods run as."""

from __future__ import annotations

import importlib
import inspect

import pytest

from infra.clouds import CLOUDS
from infra.weights import POD_SERVICE_ACCOUNT, fetch_seconds, volume_mib
from infra.workload.inference_service import NAME


@pytest.mark.parametrize("cloud", CLOUDS)
def test_each_cloud_has_create_weights_taking_name_settings_location(cloud: str) -> None:
    module = importlib.import_module(f"infra.clouds.{cloud}.weights")
    signature = inspect.signature(module.create_weights)
    assert list(signature.parameters)[:3] == ["name", "settings", "location"]
    assert "children" in signature.parameters
    assert signature.return_annotation in ("WeightsAccess", "'WeightsAccess'")


def test_the_identities_trust_the_pods_service_account() -> None:
    assert POD_SERVICE_ACCOUNT == NAME


def test_the_volume_and_the_fetch_allowance_grow_with_the_weights() -> None:
    gib = 1024**3
    assert volume_mib(14 * gib) >= 14 * 1024 * 1.1 + 512
    assert fetch_seconds(14 * gib) == 301  # 15.03 GB at 50 MB/s
    assert volume_mib(0) == 512 and fetch_seconds(0) == 0
