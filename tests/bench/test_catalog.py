"""What is benchmarked is deployable: every Liftoff row names the stack settings that reproduce it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import servers
from bench.benchmarks_doc import ServerRun, render
from bench.catalog import stack_settings
from bench.loadgen import Payload
from bench.servers import SERVERS, BenchModel
from infra.settings import ConfigSource, load_settings
from tests.service.torchserve.archives import text_archive


def bench_model(tmp_path: Path, **env: str) -> BenchModel:
    (tmp_path / "m.pt").write_bytes(b"")
    (tmp_path / "m.json").write_text("{}")
    payload = Payload("/predict", tmp_path / "body.json")
    return BenchModel(
        "digits",
        tmp_path / "m.pt",
        64,
        2.0,
        {"json": payload, "binary": payload, "png": payload},
        ("liftoff",),
        env,
    )


# liftoff-torchserve serves TorchServe's own archive with TorchServe's batch settings: its own test below.
@pytest.mark.parametrize(
    "key", [key for key in SERVERS if key.startswith("liftoff") and key != "liftoff-torchserve"]
)
def test_every_liftoff_row_is_a_configuration_a_stack_deploys(key: str, tmp_path: Path) -> None:
    env = SERVERS[key].launch(bench_model(tmp_path, LIFTOFF_WORKERS="2"), 8000, tmp_path).env
    settings = stack_settings(env)
    assert "liftoff:workers=2" in settings
    assert "liftoff:maxBatchSize=64" in settings or "liftoff:maxBatchSize=8" in settings
    values = dict(item.removeprefix("liftoff:").split("=", 1) for item in settings)
    deployed = load_settings(ConfigSource.from_dict({"cloud": "local", "monitoring": False, **values}))
    assert deployed.server.workers == 2


def test_a_variable_no_stack_sets_is_refused() -> None:
    with pytest.raises(ValueError, match="LIFTOFF_API_KEYS is not a stack setting"):
        stack_settings({"LIFTOFF_API_KEYS": "k" * 16})
    with pytest.raises(ValueError, match="whole numbers"):
        stack_settings({"LIFTOFF_MAX_BATCH_WAIT_MS": "2.5"})


def test_the_written_table_names_each_liftoff_rows_stack_settings() -> None:
    liftoff = ServerRun(
        "digits", "liftoff", "Liftoff", stack=["liftoff:maxBatchSize=64", "liftoff:workers=2"]
    )
    other = ServerRun("digits", "torchserve", "TorchServe, batching")
    text = render([], {}, [liftoff, other], [1])
    assert "- Liftoff: `liftoff:maxBatchSize=64 liftoff:workers=2`" in text
    assert "- TorchServe" not in text


def test_the_imported_torchserve_row_is_deployed_with_torchserves_batching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = text_archive(tmp_path, tmp_path / "store")  # built here, as the bench's own TorchServe env would
    monkeypatch.setattr(servers, "_torchserve_archive", lambda model, workdir: built.mar)
    model = bench_model(tmp_path, LIFTOFF_WORKERS="2")
    launch = SERVERS["liftoff-torchserve"].launch(model, 8000, tmp_path)
    assert launch.path == "/predictions/digits"
    settings = stack_settings(launch.env)
    batch, delay_ms = servers._torchserve_batching(model)
    assert settings == sorted(
        ["liftoff:logLevel=warning", f"liftoff:maxBatchSize={batch}", f"liftoff:maxBatchWaitMs={delay_ms}"]
    )
    values = dict(item.removeprefix("liftoff:").split("=", 1) for item in settings)
    deployed = load_settings(ConfigSource.from_dict({"cloud": "local", "monitoring": False, **values}))
    assert deployed.server.max_batch_size == batch
