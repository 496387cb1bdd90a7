"""Fixtures for the weights tests: the object stores (one of each per test module, on free ports), and a
model directory whose handler builds an nn.Module and loads its state dict from two safetensors files.

    def test_x(seaweed, net_model):
        upload(seaweed, net_model.weights, "net-v1")
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from service.weights.manifest import MANIFEST_FILE, build_manifest
from tests.service.weights.object_stores import REPO, Azurite, GcsEmulator, SeaweedS3

HANDLER = """
import torch
from torch import nn

from service.handler import Handler, HandlerContext
from service.weights import load_into


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(4, 32)
        self.head = nn.Linear(32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.encoder(x)))


class NetHandler(Handler):
    def setup(self, context: HandlerContext) -> None:
        super().setup(context)
        self.net = load_into(Net(), context.weights_dir, context.device).eval()

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.net(x)
"""

METADATA = {
    "name": "net",
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
    "outputs": [{"name": "scores", "datatype": "FP32", "shape": [-1, 3]}],
}


@dataclass(frozen=True)
class NetModel:
    root: Path
    """The model directory: model.json, handler.py, and weights/ (the local-disk way)."""
    weights: Path
    """Its weights folder: two safetensors shards and a labels file."""


def write_net_model(folder: Path, weights_setting: str = "weights/") -> NetModel:
    torch.manual_seed(7)
    encoder, head = nn.Linear(4, 32), nn.Linear(32, 3)
    root = folder / "net"
    weights = root / "weights"
    (weights / "extra").mkdir(parents=True)
    save_file(
        {f"encoder.{k}": v for k, v in encoder.state_dict().items()},
        weights / "model-00001-of-00002.safetensors",
    )
    save_file(
        {f"head.{k}": v for k, v in head.state_dict().items()}, weights / "model-00002-of-00002.safetensors"
    )
    (weights / "extra" / "labels.txt").write_text("cat\ndog\nbird\n")
    (root / "handler.py").write_text(HANDLER)
    (root / "model.json").write_text(json.dumps({**METADATA, "weights": weights_setting}))
    return NetModel(root, weights)


@pytest.fixture
def net_model(tmp_path: Path) -> NetModel:
    return write_net_model(tmp_path)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m service.weights ...` (what `python -m service weights` runs, without the server), with the
    store's variables."""
    return subprocess.run(
        [sys.executable, "-m", "service.weights", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def push(env: dict[str, str], folder: Path, uri: str) -> None:
    result = cli(env, "push", str(folder), uri)
    assert result.returncode == 0, result.stderr


def gcs_upload(gcs: GcsEmulator, folder: Path, prefix: str) -> None:
    """fake-gcs-server takes uploads on the JSON API only (its XML PUT answers 400), so the GCS tests upload
    through it; the reads under test go through the same client as in a cloud."""
    manifest = build_manifest(folder, content_addressed=True)
    objects = {entry.key: (folder / entry.path).read_bytes() for entry in manifest.files}
    objects[MANIFEST_FILE] = manifest.dumps().encode()
    for key, data in objects.items():
        name = urllib.parse.quote(f"{prefix}/{key}", safe="")
        request = urllib.request.Request(
            f"http://127.0.0.1:{gcs.port}/upload/storage/v1/b/weights/o?uploadType=media&name={name}",
            data=data,
            method="POST",
            headers={"Content-Type": "application/octet-stream"},
        )
        urllib.request.urlopen(request, timeout=30).close()


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    with SeaweedS3(tmp_path_factory.mktemp("s3")) as store:
        yield store


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    with Azurite(tmp_path_factory.mktemp("azurite")) as store:
        yield store


@pytest.fixture(scope="module")
def gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsEmulator]:
    with GcsEmulator(tmp_path_factory.mktemp("gcs")) as store:
        yield store


@pytest.fixture
def store_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Clears the cloud variables this machine may have, so each test sets only its store's."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "AZURE_", "GOOGLE_")) or name == "STORAGE_EMULATOR_HOST":
            monkeypatch.delenv(name)
    yield monkeypatch
