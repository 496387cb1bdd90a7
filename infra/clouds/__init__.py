"""Which cloud builds the platform: `create_platform(settings)` dispatches on `settings.cloud`.

Each `infra/clouds/<cloud>.py` exports `create_platform(settings: Settings) -> Platform` and one
ComponentResource (type token `liftoff:<cloud>:Platform`) that owns the cloud's resources. Modules are
imported lazily, so a stack never imports (or needs the plugins of) another cloud's provider.
"""

from __future__ import annotations

import importlib

from infra.clouds.platform import Platform
from infra.settings import Settings

_PLATFORM_MODULES = {
    "aws": "infra.clouds.aws",
    "gcp": "infra.clouds.gcp",
    "azure": "infra.clouds.azure",
    "local": "infra.clouds.local",
}


def create_platform(settings: Settings) -> Platform:
    module = importlib.import_module(_PLATFORM_MODULES[settings.cloud])
    platform: Platform = module.create_platform(settings)
    return platform
