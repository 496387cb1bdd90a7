"""Pulumi.yaml declares every key the settings models read, each typed, with a default and a description,
and its types and defaults are the models' own (the models are the one source: infra/config_keys.py)."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from infra.plan.config import stack_config
from infra.settings import ConfigSource, Settings, load_settings
from service.settings import Settings as ServerContract
from service.settings import deployment, env_name, stack_keys

ROOT = Path(__file__).resolve().parents[2]
PROJECT: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DECLARED: dict[str, Any] = PROJECT["config"]
READ = Settings.declared_keys()
# Keys of other namespaces (gcp:project, gcp:region, gcp:zone) belong to their provider's own config.
PROJECT_KEYS = {key: info for key, info in READ.items() if ":" not in key}


def yaml_type(info: FieldInfo) -> str:
    """The Pulumi.yaml type of a field: its annotation without None, Annotated and Literal."""
    annotation: Any = info.annotation
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType):
        annotation = args[0]
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is typing.Literal:
        annotation = type(typing.get_args(annotation)[0])
    origin = typing.get_origin(annotation) or annotation
    return {int: "integer", bool: "boolean", str: "string", tuple: "array", dict: "array"}[origin]


def yaml_default(info: FieldInfo) -> object:
    """The field's default as Pulumi.yaml spells it: unset is "", no items is []."""
    default = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
    if default is None:
        return ""
    if isinstance(default, tuple | dict):
        return list(default) if isinstance(default, tuple) else [f"{k}={v}" for k, v in default.items()]
    return default


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


def test_pulumi_yaml_declares_exactly_the_keys_the_models_read() -> None:
    assert set(DECLARED) == set(PROJECT_KEYS), (
        f"declared but read by no model: {sorted(set(DECLARED) - set(PROJECT_KEYS))}; "
        f"read but not declared: {sorted(set(PROJECT_KEYS) - set(DECLARED))}"
    )


def test_each_declared_type_and_default_is_the_models() -> None:
    for key, info in PROJECT_KEYS.items():
        assert info.default is not PydanticUndefined or info.default_factory is not None, (
            f"{key} has no default"
        )
        assert DECLARED[key]["type"] == yaml_type(info), key
        assert DECLARED[key]["default"] == yaml_default(info), (
            f"{key}: Pulumi.yaml says {DECLARED[key]['default']!r}, the model {yaml_default(info)!r}"
        )


def test_the_defaults_alone_make_valid_settings_that_match_the_codes_defaults() -> None:
    from_yaml = load_settings(ConfigSource.from_dict({**stack_config("dev"), "liftoff:monitoring": "false"}))
    assert from_yaml.cloud == "local"
    defaults_only = {
        f"liftoff:{key}": d["default"] for key, d in DECLARED.items() if "default" in d and key[:5] != "local"
    }
    defaults_only |= {"liftoff:cloud": "local", "liftoff:monitoring": False}
    from_code = load_settings(ConfigSource.from_dict({"liftoff:cloud": "local", "liftoff:monitoring": False}))
    assert load_settings(ConfigSource.from_dict(defaults_only)) == from_code


def test_a_default_changed_in_the_model_alone_would_be_caught() -> None:
    """The check above compares values, so it can fail: a changed copy of one field's default differs."""
    info = PROJECT_KEYS["maxBatchSize"]
    changed = FieldInfo.merge_field_infos(info, default=64)
    assert yaml_default(changed) != DECLARED["maxBatchSize"]["default"]


def server_key_description(field: str) -> str:
    """What Pulumi.yaml says of a server key: the server's variable and its own description."""
    info = ServerContract.model_fields[field]
    text = f"{env_name(field)}: {info.description}"
    if typing.get_origin(info.annotation) is typing.Literal:
        text += f" (one of: {', '.join(typing.get_args(info.annotation))})"
    if info.get_default(call_default_factory=False) is None and info.annotation in (int | None, float | None):
        text += f"; 0 keeps the server's default ({deployment(info).get('shown', 'unset')})"
    return text


def test_every_server_key_is_described_by_the_servers_own_words() -> None:
    """A new server setting (one field in service/settings.py) fails here until Pulumi.yaml declares it;
    the message is the entry to paste."""
    for field, key in stack_keys().items():
        info = PROJECT_KEYS[key]
        expected = {
            "type": yaml_type(info),
            "default": yaml_default(info),
            "description": server_key_description(field),
        }
        assert DECLARED.get(key) == expected, yaml.safe_dump({key: expected}, sort_keys=False, width=10_000)


def test_every_server_setting_is_set_by_a_stack_or_by_the_pod() -> None:
    keys = stack_keys()
    for name, info in ServerContract.model_fields.items():
        spec = deployment(info)
        assert ("stack" in spec) != ("pod" in spec), name
        assert (name in keys) == ("stack" in spec), name
