"""Every cloud is one folder of one shape, found through one registry (`infra.clouds.CLOUDS`)."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

import infra.clouds
from infra.clouds import CLOUDS, cloud_module
from infra.settings import CloudSettings

FOLDER = Path(infra.clouds.__file__).parent


@pytest.mark.parametrize("cloud", CLOUDS)
def test_each_cloud_has_its_component_settings_and_mocks_under_the_same_names(cloud: str) -> None:
    component = cloud_module(cloud, "component")
    assert callable(component.create_platform)
    platform_class = getattr(component, f"{cloud.capitalize()}Platform")
    # One attribute name for the Kubernetes provider the component hands to the shared layer.
    assert "k8s_provider" in platform_class.__annotations__
    assert callable(cloud_module(cloud, "settings").load)
    mocks = cloud_module(cloud, "mocks")
    assert isinstance(mocks.RESOURCES, dict)
    assert isinstance(mocks.CALLS, dict)


def test_the_registry_lists_every_cloud_folder_and_nothing_else() -> None:
    folders = {path.name for path in FOLDER.iterdir() if (path / "component.py").exists()}
    assert folders == set(CLOUDS)


def test_the_settings_union_holds_exactly_the_registrys_settings_classes() -> None:
    registered = {
        getattr(cloud_module(cloud, "settings"), f"{cloud.capitalize()}Settings") for cloud in CLOUDS
    }
    assert set(typing.get_args(CloudSettings)) == registered


def test_a_cloud_outside_the_registry_is_never_imported() -> None:
    with pytest.raises(KeyError):
        cloud_module("platform", "component")


@pytest.mark.parametrize("cloud", [cloud for cloud in CLOUDS if cloud != "local"])
def test_clouds_with_taggable_resources_keep_their_cost_tags_in_tags_py(cloud: str) -> None:
    tags = cloud_module(cloud, "component").__dict__.get("cost_tags")
    assert tags is not None and tags.__module__ == f"infra.clouds.{cloud}.tags"
