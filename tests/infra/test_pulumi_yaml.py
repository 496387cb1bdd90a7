"""Pulumi.yaml declares every key the program reads, each typed, with a default and a description, and
those defaults are what the code assumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import yaml

from infra.config_keys import DictConfig
from infra.plan.config import stack_config
from infra.settings import ConfigSource, load_settings

ROOT = Path(__file__).resolve().parents[2]
PROJECT: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DECLARED: dict[str, Any] = PROJECT["config"]


class RecordingConfig(DictConfig):
    """Remembers every key asked for."""

    def __init__(self, values: dict[str, object]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str) -> str | None:
        self.asked.add(key)
        return super().get(key)

    def get_secret(self, key: str) -> pulumi.Output[str] | None:
        self.asked.add(key)
        return None


def test_the_project_runs_infra_with_python() -> None:
    assert PROJECT["name"] == "liftoff"
    assert PROJECT["runtime"]["name"] == "python"
    assert PROJECT["main"] == "infra/"


def test_every_key_is_typed_with_a_default_and_a_description() -> None:
    for key, declared in DECLARED.items():
        assert declared.get("type") in ("string", "integer", "boolean", "array"), key
        assert "description" in declared and declared["description"].strip(), key
        assert "default" in declared or declared.get("secret"), key
        if "default" in declared:
            expected = {"string": str, "integer": int, "boolean": bool, "array": list}[declared["type"]]
            assert isinstance(declared["default"], expected), f"{key}: default is not {declared['type']}"


def test_every_core_and_local_key_the_settings_read_is_declared() -> None:
    raw = RecordingConfig({"liftoff:cloud": "local", "liftoff:monitoring": "false"})
    load_settings(ConfigSource(raw))
    raw_with_monitoring = RecordingConfig({"liftoff:cloud": "local", "liftoff:monitoring": "true"})
    load_settings(ConfigSource(raw_with_monitoring))
    asked = {key.removeprefix("liftoff:") for key in raw.asked | raw_with_monitoring.asked}
    # Secrets have no default to declare: Pulumi would then demand them on every stack.
    secrets = {"grafanaAdminPassword"}
    assert asked - secrets <= set(DECLARED), sorted(asked - secrets - set(DECLARED))


def test_the_defaults_alone_make_valid_settings_that_match_the_codes_defaults() -> None:
    from_yaml = load_settings(ConfigSource.from_dict({**stack_config("dev"), "liftoff:monitoring": "false"}))
    assert from_yaml.cloud == "local"
    defaults_only = {
        f"liftoff:{key}": d["default"] for key, d in DECLARED.items() if "default" in d and key[:5] != "local"
    }
    defaults_only |= {"liftoff:cloud": "local", "liftoff:monitoring": False}
    from_code = load_settings(ConfigSource.from_dict({"liftoff:cloud": "local", "liftoff:monitoring": False}))
    assert load_settings(ConfigSource.from_dict(defaults_only)) == from_code
