"""Every server setting is deployable: a stack key derived from service/settings.py, or a value the pod fixes,
and the pod's environment carries each one by the server's own variable name."""

from __future__ import annotations

import typing
from typing import Any

import pytest

from infra.settings import ConfigSource, Settings, SettingsError, load_settings
from infra.workload import pod
from service.settings import Settings as ServerContract
from service.settings import deployment, env_name, stack_keys


def load(**values: object) -> Settings:
    return load_settings(ConfigSource.from_dict({"cloud": "local", "monitoring": False, **values}))


def another_value(field: str) -> Any:
    """A valid value other than the default, for any kind of server setting."""
    info = ServerContract.model_fields[field]
    default = info.get_default(call_default_factory=False)
    if typing.get_origin(info.annotation) is typing.Literal:
        return next(choice for choice in typing.get_args(info.annotation) if choice != default)
    if default is None:
        return 4096 if int in typing.get_args(info.annotation) else "/models/elsewhere"
    return int(default) + 1


def environment(settings: Settings) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in pod.environment(settings)}


def test_every_stack_key_of_the_server_reaches_the_pod_under_the_servers_name() -> None:
    values = {key: another_value(field) for field, key in stack_keys().items()}
    env = environment(load(**values))
    for field, key in stack_keys().items():
        assert env.get(env_name(field)) == str(values[key]), f"liftoff:{key} does not reach {env_name(field)}"


def test_every_setting_the_pod_fixes_is_in_its_environment() -> None:
    env = {item["name"] for item in pod.environment(load(auth=True))}
    fixed = [name for name, info in ServerContract.model_fields.items() if "pod" in deployment(info)]
    never = [
        name for name in fixed if deployment(ServerContract.model_fields[name])["pod"].startswith("never")
    ]
    assert never == ["api_keys"]
    assert {env_name(name) for name in fixed if name not in never} <= env
    assert env_name("api_keys") not in env


def test_an_unset_optional_number_leaves_the_servers_own_default() -> None:
    assert "LIFTOFF_MAX_BODY_BYTES" not in environment(load())
    assert environment(load(serverMaxBodyBytes=300_000))["LIFTOFF_MAX_BODY_BYTES"] == "300000"


def test_the_servers_whole_range_is_the_stacks() -> None:
    """Where infra once stopped short of the server (a batch of 4096, no `critical` log level)."""
    settings = load(maxBatchSize=65536, queueLimit=65536, logLevel="critical")
    assert (settings.server.max_batch_size, settings.server.log_level) == (65536, "critical")


def test_a_gpu_pod_runs_one_server_process() -> None:
    assert environment(load(workers=2))["LIFTOFF_WORKERS"] == "2"
    with pytest.raises(SettingsError) as caught:
        load(gpu=1, workers=2)
    assert caught.value.key == "liftoff:workers"
    assert "allowed: 1 with liftoff:gpu above 0" in str(caught.value)
