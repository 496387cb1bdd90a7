"""The clouds Liftoff deploys to, known in one place: `CLOUDS`.

Every cloud is one folder of one shape, `infra/clouds/<cloud>/`:

- `component.py`: one ComponentResource (type token `liftoff:<cloud>:Platform`) and
  `create_platform(settings) -> Platform`;
- `settings.py`: its `liftoff:<cloud>*` keys, `<Cloud>Settings` and `load(source)`;
- `mocks.py`: `RESOURCES` and `CALLS`, the answers its resources and functions get in the offline plan;
- `tags.py`: `cost_tags()`, where it has taggable resources.

The platform dispatch (below), the settings loader (infra/settings) and the offline mocks (infra/plan/mocks.py)
all find a cloud's modules through `cloud_module`. Modules are imported lazily, so a stack never imports (or
needs the plugins of) another cloud's provider. Adding a cloud: its folder, and its name in `CLOUDS`.
"""

from __future__ import annotations

import importlib
import typing
from types import ModuleType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from infra.clouds.platform import Platform
    from infra.settings import Settings

CloudName = Literal["aws", "gcp", "azure", "local"]
CLOUDS: tuple[CloudName, ...] = typing.get_args(CloudName)
Role = Literal["component", "settings", "mocks"]


def cloud_module(cloud: str, role: Role) -> ModuleType:
    """`infra.clouds.<cloud>.<role>`; a cloud not in `CLOUDS` is a KeyError, never a stray import."""
    if cloud not in CLOUDS:
        raise KeyError(cloud)
    return importlib.import_module(f"infra.clouds.{cloud}.{role}")


def create_platform(settings: Settings) -> Platform:
    platform: Platform = cloud_module(settings.cloud, "component").create_platform(settings)
    return platform
