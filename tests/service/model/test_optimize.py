"""Serving-time optimisation keeps every answer: frozen (and oneDNN-rewritten) convolutions answer as the
model as written does, channels-last applies where it should, and a model that cannot be frozen still serves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from service.model import optimize as optimize_module
from service.model.served import load_model


class TinyConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv(image)))
        return self.head(x.mean(dim=(2, 3)))


@pytest.fixture
def conv_model(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    module = TinyConvNet().eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, so folding them is really exercised
        module.bn.running_mean.uniform_(-1, 1)
        module.bn.running_var.uniform_(0.5, 2)
    path = tmp_path / "conv.pt"
    torch.jit.save(torch.jit.script(module), str(path))
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "name": "conv",
                "inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, 3, 8, 8]}],
                "outputs": [{"name": "scores", "datatype": "FP32", "shape": [-1, 2]}],
            }
        )
    )
    return path


def _expected(path: Path, images: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return torch.jit.load(str(path)).eval()(torch.from_numpy(images)).numpy()


def test_optimised_float32_convolutions_answer_as_the_model_as_written(conv_model: Path) -> None:
    images = np.random.default_rng(0).normal(size=(5, 3, 8, 8)).astype(np.float32)
    served = load_model(conv_model, "cpu", "float32")
    assert not served.channels_last
    assert "aten::batch_norm" not in str(served.module.graph)  # folded into the convolution
    np.testing.assert_allclose(served.run([images])[0], _expected(conv_model, images), rtol=1e-4, atol=1e-5)


def test_bfloat16_image_models_run_channels_last_and_stay_close(conv_model: Path) -> None:
    images = np.random.default_rng(1).normal(size=(3, 3, 8, 8)).astype(np.float32)
    served = load_model(conv_model, "cpu", "bfloat16")
    assert served.channels_last
    np.testing.assert_allclose(served.run([images])[0], _expected(conv_model, images), rtol=0.1, atol=0.1)


def test_a_model_that_cannot_be_frozen_is_served_as_loaded(
    conv_model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
        raise RuntimeError("cannot freeze this one")

    monkeypatch.setattr(optimize_module.torch.jit, "freeze", refuse)
    images = np.ones((2, 3, 8, 8), dtype=np.float32)
    served = load_model(conv_model, "cpu", "float32")
    assert "cannot freeze this one" in caplog.text
    np.testing.assert_allclose(served.run([images])[0], _expected(conv_model, images), rtol=1e-5)
