"""Settings come from LIFTOFF_* variables; a bad one stops start-up with exit code 2 naming it."""

from __future__ import annotations

import os
import subprocess
import sys
import typing
from pathlib import Path

import annotated_types
import pytest
from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo

from service.__main__ import read_settings
from service.settings import DEFAULT_MODEL_PATH, Settings, deployment, env_name

REPO = Path(__file__).parents[2]
CONTRACT = REPO / "docs" / "server.md"


def number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else str(value)


def allowed(info: FieldInfo) -> str:
    """A setting's values in words: its choices, or its range."""
    if typing.get_origin(info.annotation) is typing.Literal:
        return ", ".join(f"`{choice}`" for choice in typing.get_args(info.annotation))
    low = next((number(m.ge) for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    above = next((f"above {number(m.gt)}" for m in info.metadata if isinstance(m, annotated_types.Gt)), None)
    high = next((number(m.le) for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    if low is not None:
        return f"{low} to {high}" if high else f"{low} or more"
    return f"{above}, to {high}" if above and high else above or ""


def settings_table() -> str:
    """docs/server.md's settings table as service/settings.py declares it."""
    rows = ["| variable | default | allowed | in a pod | meaning |", "|---|---|---|---|---|"]
    for name, info in Settings.model_fields.items():
        spec = deployment(info)
        default = info.get_default(call_default_factory=False)
        if isinstance(default, float) and default.is_integer():
            default = int(default)
        shown = (
            spec.get("shown")
            or f"`{default.get_secret_value() if isinstance(default, SecretStr) else default}`"
        )
        pod = f"`liftoff:{spec['stack']}`" if "stack" in spec else spec["pod"]
        rows.append(f"| `{env_name(name)}` | {shown} | {allowed(info)} | {pod} | {info.description} |")
    return "\n".join(rows) + "\n"


def test_the_docs_settings_table_is_the_declared_settings() -> None:
    """Every variable, default, stack key and meaning in docs/server.md is service/settings.py's; the
    failure message is the table to paste."""
    section = CONTRACT.read_text().split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    documented = section[section.index("| variable |") :].split("\n\n", 1)[0].rstrip("\n") + "\n"
    assert documented == settings_table(), settings_table()


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LIFTOFF_"):
            monkeypatch.delenv(name)
    settings = Settings()
    assert (settings.host, settings.port, settings.device, settings.dtype) == (
        "127.0.0.1",
        8080,
        "auto",
        "float32",
    )
    assert (settings.max_batch_size, settings.max_batch_wait_ms, settings.queue_limit) == (32, 2.0, 256)
    assert (settings.request_timeout_s, settings.max_body_bytes, settings.torch_threads) == (30.0, None, 0)
    assert (settings.workers, settings.drain_timeout_s, settings.log_level) == (1, 20.0, "info")
    assert settings.resolved_model_path == DEFAULT_MODEL_PATH
    assert DEFAULT_MODEL_PATH == REPO / "models" / "digits" / "model.pt"


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, linear_model: Path) -> None:
    monkeypatch.setenv("LIFTOFF_PORT", "9000")
    monkeypatch.setenv("LIFTOFF_MAX_BATCH_WAIT_MS", "7.5")
    monkeypatch.setenv("LIFTOFF_DTYPE", "bfloat16")
    monkeypatch.setenv("LIFTOFF_MODEL_PATH", str(linear_model))
    monkeypatch.setenv("LIFTOFF_REPLICA_ID", "replica-3")
    monkeypatch.setenv("LIFTOFF_LOG_LEVEL", "DEBUG")
    settings = read_settings()
    assert settings.port == 9000 and settings.max_batch_wait_s == 0.0075 and settings.dtype == "bfloat16"
    assert settings.model_path == linear_model and settings.replica_id == "replica-3"
    assert settings.log_level == "debug"


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("LIFTOFF_PORT", "eighty", "valid integer"),
        ("LIFTOFF_PORT", "70000", "less than or equal to 65535"),
        ("LIFTOFF_DEVICE", "tpu", "'auto', 'cpu' or 'cuda'"),
        ("LIFTOFF_DTYPE", "int8", "'float32', 'float16' or 'bfloat16'"),
        ("LIFTOFF_MAX_BATCH_SIZE", "0", "greater than or equal to 1"),
        ("LIFTOFF_MAX_BATCH_WAIT_MS", "-1", "greater than or equal to 0"),
        ("LIFTOFF_QUEUE_LIMIT", "lots", "valid integer"),
        ("LIFTOFF_MODEL_PATH", "/nonexistent/model.pt", "no model file"),
        ("LIFTOFF_DRAIN_TIMEOUT_S", "0", "greater than 0"),
    ],
)
def test_a_bad_setting_is_named_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as stopped:
        read_settings()
    message = str(stopped.value.code)
    assert f"{variable}={value!r}" in message and words in message


def test_a_queue_smaller_than_one_batch_is_refused_naming_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFTOFF_QUEUE_LIMIT", "4")
    monkeypatch.setenv("LIFTOFF_MAX_BATCH_SIZE", "8")
    with pytest.raises(
        SystemExit, match=r"LIFTOFF_QUEUE_LIMIT \(4\) must be at least LIFTOFF_MAX_BATCH_SIZE \(8\)"
    ):
        read_settings()


def test_several_workers_on_a_gpu_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LIFTOFF_WORKERS", "2")
    monkeypatch.setenv("LIFTOFF_DEVICE", "cuda")
    with pytest.raises(SystemExit, match="LIFTOFF_WORKERS=2: several workers on one GPU"):
        read_settings()


def test_settings_built_in_code_are_validated_too() -> None:
    with pytest.raises(ValidationError, match="max_batch_size"):
        Settings(max_batch_size=0)


def test_model_without_metadata_is_refused_with_the_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lonely = tmp_path / "lonely.pt"
    lonely.write_bytes(b"not really a model")
    monkeypatch.setenv("LIFTOFF_MODEL_PATH", str(lonely))
    with pytest.raises(SystemExit, match=r"lonely\.json is missing"):
        read_settings()


def test_a_handler_that_fails_to_import_stops_start_up_naming_file_and_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "model.json").write_text(
        '{"name": "m", "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 1]}],'
        ' "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}]}'
    )
    (tmp_path / "handler.py").write_text("import torch\n\nraise ValueError('no weights here')\n")
    monkeypatch.setenv("LIFTOFF_MODEL_PATH", str(tmp_path))
    with pytest.raises(SystemExit, match=r"handler\.py line 3: ValueError: no weights here"):
        read_settings()


@pytest.mark.slow
def test_python_m_service_exits_2_with_the_message_not_a_traceback() -> None:
    env = {**os.environ, "LIFTOFF_PORT": "not-a-port", "LIFTOFF_DEVICE": "tpu"}
    result = subprocess.run(
        [sys.executable, "-m", "service"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "LIFTOFF_PORT='not-a-port'" in result.stderr and "LIFTOFF_DEVICE='tpu'" in result.stderr
    assert "Traceback" not in result.stderr


def test_uvicorn_waits_for_accepted_requests_for_the_drain_timeout_less_a_margin() -> None:
    from service.__main__ import uvicorn_config

    assert uvicorn_config(Settings(drain_timeout_s=20)).timeout_graceful_shutdown == 18
    assert uvicorn_config(Settings(drain_timeout_s=3)).timeout_graceful_shutdown == 1.5
