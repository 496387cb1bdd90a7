"""The one model check: what `python -m service check`, the server's warm-up, the plan and the image build run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from service.model.check import check_model
from service.model.metadata import MetadataError
from service.model.served import ModelLoadError
from service.model.startup import prepare_model
from service.settings import Settings
from tests.service.conftest import LINEAR_METADATA, write_model
from tests.service.live import free_port
from tests.service.model.broken_models import BROKEN, LINEAR

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.anyio


def run_service(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_directory_fails_the_check_naming_why(tmp_path: Path, case: str) -> None:
    build, words = BROKEN[case]
    root = build(tmp_path / case)
    with pytest.raises((ModelLoadError, MetadataError)) as refused:
        prepare_model(Settings(model_path=root, device="cpu", max_batch_size=4))
    assert words in str(refused.value)


def test_the_cli_check_exits_1_with_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    build, words = BROKEN["handler_syntax_error"]
    root = build(tmp_path / "syntax")
    done = run_service("check", str(root))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"check: {root} would not serve: ") and words in lines[0]


def test_the_cli_check_passes_the_starter_and_says_what_it_ran(tmp_path: Path) -> None:
    assert run_service("init-model", str(tmp_path / "mine")).returncode == 0
    done = run_service("check", str(tmp_path / "mine"))
    assert done.returncode == 0, done.stderr
    assert "model.json's sample through decode, predict and encode (1 row and a batch of 32)" in done.stdout
    assert "outputs label BYTES [1], score FP32 [1] as model.json declares" in done.stdout


def test_a_handler_models_warm_up_runs_its_sample_through_decode_predict_and_encode(tmp_path: Path) -> None:
    root = tmp_path / "counted"
    root.mkdir()
    (root / "model.json").write_text(json.dumps({**LINEAR, "sample": {"x": [1, 2, 3]}}))
    (root / "handler.py").write_text(
        "import numpy as np\nfrom service.handler import Handler\n\nclass Counted(Handler):\n"
        "    def setup(self, context):\n        super().setup(context)\n        self.seen = []\n"
        "    def decode(self, inputs):\n        self.seen.append(('decode', inputs['x'].tolist()))\n"
        "        return [inputs['x']]\n"
        "    def predict(self, x):\n        self.seen.append(('predict', x.shape[0]))\n        return x[:, :2]\n"
        "    def encode(self, outputs):\n        self.seen.append(('encode', len(outputs['y'])))\n"
        "        return outputs\n"
    )
    model = prepare_model(Settings(model_path=root, max_batch_size=4))
    seen = model.handler.seen  # type: ignore[attr-defined]
    assert seen == [
        ("decode", [[1.0, 2.0, 3.0]]),
        ("predict", 1),
        ("encode", 1),
        ("predict", 4),
        ("encode", 1),
    ]
    assert "model.json's sample through decode, predict and encode (1 row and a batch of 4)" in model.checked


def test_a_sibling_module_imported_in_setup_is_found(tmp_path: Path) -> None:
    root = tmp_path / "sibling"
    root.mkdir()
    (root / "model.json").write_text(json.dumps(LINEAR))
    (root / "liftoff_test_net.py").write_text(
        "import torch\n\ndef build():\n    return torch.nn.Linear(3, 2)\n"
    )
    (root / "handler.py").write_text(
        "from service.handler import Handler\n\nclass Builds(Handler):\n"
        "    def setup(self, context):\n        super().setup(context)\n"
        "        import liftoff_test_net\n        self.net = liftoff_test_net.build()\n"
        "    def predict(self, x):\n        return self.net(x)\n"
    )
    assert prepare_model(Settings(model_path=root)).metadata.platform == "pytorch"


def test_a_state_dict_saved_as_model_pt_is_left_to_the_handler_that_loads_it(tmp_path: Path) -> None:
    root = tmp_path / "state"
    root.mkdir()
    (root / "model.json").write_text(json.dumps(LINEAR))
    layer = nn.Linear(3, 2)
    torch.save(layer.state_dict(), root / "model.pt")
    (root / "handler.py").write_text(
        "import torch\nfrom service.handler import Handler\n\nclass Loads(Handler):\n"
        "    def setup(self, context):\n        super().setup(context)\n        assert context.module is None\n"
        "        self.net = torch.nn.Linear(3, 2)\n"
        "        self.net.load_state_dict(torch.load(context.directory / 'model.pt'))\n"
        "    def predict(self, x):\n        return self.net(x)\n"
    )
    model = prepare_model(Settings(model_path=root))
    (y,) = model.run([np.array([[1, 2, 3]], np.float32)])
    expected = layer(torch.tensor([[1.0, 2.0, 3.0]])).detach().numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_the_handler_context_has_a_weights_dir_defaulting_to_the_directory(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "model.json").write_text(json.dumps(LINEAR))
    write_model(nn.Linear(3, 2), root / "model.pt", LINEAR_METADATA)
    (root / "model.json").write_text(json.dumps(LINEAR))
    assert prepare_model(Settings(model_path=root)).context.weights_dir == root
    (root / "model.json").write_text(json.dumps({**LINEAR, "weights": "weights/"}))
    (root / "weights").mkdir()
    assert prepare_model(Settings(model_path=root)).context.weights_dir == root / "weights/"


@pytest.mark.parametrize(
    "weights", ["s3://bucket/prefix/", "gs://b/p", "az://container/prefix/", "https://x/y/", "w/"]
)
def test_model_json_accepts_a_weights_uri_or_a_folder_inside(tmp_path: Path, weights: str) -> None:
    from service.model.metadata import ModelMetadata

    assert ModelMetadata.model_validate({**LINEAR, "weights": weights}).weights == weights


@pytest.mark.parametrize("weights", ["/abs", "../up", "ftp://x/y", "s3://"])
def test_model_json_refuses_other_weights_locations(weights: str) -> None:
    from pydantic import ValidationError

    from service.model.metadata import ModelMetadata

    with pytest.raises(ValidationError, match="weights"):
        ModelMetadata.model_validate({**LINEAR, "weights": weights})


class _Double(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 1.0


FP64 = {
    "name": "double",
    "inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 4]}],
    "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1, 4]}],
}
VALUES = [1e300, 0.001, 1.0000000001, -1e-300]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_fp64_inputs_keep_their_precision_whatever_the_serving_dtype(tmp_path: Path, dtype: str) -> None:
    root = tmp_path / "double"
    root.mkdir()
    (root / "model.json").write_text(json.dumps(FP64))
    torch.jit.save(torch.jit.script(_Double()), str(root / "model.pt"))
    model = prepare_model(Settings(model_path=root, dtype=dtype))
    (y,) = model.run([np.array([VALUES], np.float64)])
    assert y.dtype == np.float64 and y.tolist() == [VALUES]


async def test_fp64_inputs_come_back_unnarrowed_over_http(serve, tmp_path: Path) -> None:
    root = tmp_path / "double"
    root.mkdir()
    (root / "model.json").write_text(json.dumps(FP64))
    torch.jit.save(torch.jit.script(_Double()), str(root / "model.pt"))
    body = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 4], "data": VALUES}]}
    async with serve(Settings(model_path=root)) as client:
        response = await client.post("/v2/models/double/infer", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == VALUES


def test_fp32_inputs_still_run_in_the_serving_dtype(tmp_path: Path) -> None:
    root = tmp_path / "single"
    root.mkdir()
    metadata = {**FP64, "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}]}
    (root / "model.json").write_text(json.dumps(metadata))
    torch.jit.save(torch.jit.script(_Double()), str(root / "model.pt"))
    model = prepare_model(Settings(model_path=root, dtype="bfloat16"))
    (y,) = model.run([np.array([[1.0000001, 0, 0, 0]], np.float32)])
    assert y.tolist() == [[1.0, 0.0, 0.0, 0.0]]  # bfloat16 keeps 8 bits of mantissa


def test_check_model_reports_the_generated_sample_for_numeric_inputs() -> None:
    model = prepare_model(Settings(max_batch_size=8))
    ran = check_model(model, 8)
    assert ran.startswith("model 'digits' version 1: zeros of the declared shapes for 'pixels'")
    assert "outputs probabilities FP32 [1, 10], label INT64 [1] as model.json declares" in ran


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_model_that_fails_its_check_ends_the_server_with_a_one_line_reason(
    tmp_path: Path, workers: str
) -> None:
    build, words = BROKEN["shape_the_model_cannot_take"]
    root = build(tmp_path / "shape")
    message = tmp_path / "termination-log"
    message.write_text("")  # the kubelet creates it; the server only writes into it
    env = {
        "LIFTOFF_MODEL_PATH": str(root),
        "LIFTOFF_PORT": str(free_port()),
        "LIFTOFF_GRPC_PORT": "0",
        "LIFTOFF_WORKERS": workers,
        "LIFTOFF_TERMINATION_MESSAGE_PATH": str(message),
    }
    done = run_service(env=env, timeout=240)
    assert done.returncode == 3, done.stderr
    reason = message.read_text()
    assert (
        reason.startswith("liftoff: the model cannot be served: ") and words in reason and "\n" not in reason
    )
    assert reason in done.stderr  # one line each; with two workers, both may say it


def test_help_and_unknown_arguments_never_start_a_server(tmp_path: Path) -> None:
    helped = run_service("--help", timeout=60)
    assert helped.returncode == 0 and "check DIRECTORY" in helped.stdout
    unknown = run_service("--port", "9000", timeout=60)
    assert unknown.returncode == 2 and "unknown argument '--port 9000'" in unknown.stderr
    starter = run_service("init-model", "--help", timeout=60)
    assert starter.returncode == 0 and "usage: python -m service init-model" in starter.stdout
    assert not (ROOT / "--help").exists()
