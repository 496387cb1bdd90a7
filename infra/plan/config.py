"""A stack's configuration as `pulumi up` would see it: Pulumi.yaml defaults, then Pulumi.<stack>.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


class StackNotFoundError(FileNotFoundError):
    pass


def project_name(root: Path = REPO_ROOT) -> str:
    return str(_load_yaml(root / "Pulumi.yaml")["name"])


def stack_config(stack: str, root: Path = REPO_ROOT) -> dict[str, str]:
    """Full key -> value in Pulumi's string form. Secure values become placeholders: plans never decrypt."""
    project = _load_yaml(root / "Pulumi.yaml")
    name = str(project["name"])
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        known = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in root.glob("Pulumi.*.yaml"))
        raise StackNotFoundError(f"no Pulumi.{stack}.yaml; stacks: {', '.join(known) or 'none'}")
    values: dict[str, str] = {}
    for key, declared in (project.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(declared, dict) and "default" in declared:
            values[full] = to_config_string(declared["default"])
        elif isinstance(declared, dict) and "value" in declared:
            values[full] = to_config_string(declared["value"])
        elif not isinstance(declared, dict):
            values[full] = to_config_string(declared)
    for key, value in (_load_yaml(stack_file).get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[full] = f"plan-placeholder-for-{full}"
        else:
            values[full] = to_config_string(value)
    return values


def to_config_string(value: Any) -> str:
    """Pulumi keeps config as strings: YAML scalars as they read, lists and maps as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _load_yaml(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path.name} is not a YAML map")
    return loaded
