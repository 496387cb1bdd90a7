"""A model whose weights live in object storage serves the same answers as from local disk, through a real
`python -m service`; a corrupt object keeps it from ever loading; a restart fetches nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import obstore
import pytest
import torch

from service.model.served import ModelLoadError
from service.model.startup import prepare_model
from service.settings import Settings
from service.weights import load_safetensors
from service.weights.manifest import build_manifest
from service.weights.source import open_store, parse_uri
from tests.service.live import LiveServer, start_server
from tests.service.weights.conftest import NetModel, push
from tests.service.weights.object_stores import SeaweedS3

ROWS = [[0.5, -1.0, 2.0, 0.25], [3.0, 0.0, -0.5, 1.5], [-2.0, 1.0, 1.0, -1.0]]


def remote_copy(model: NetModel, folder: Path, uri: str) -> Path:
    """The model directory as a user ships it with weights in a bucket: no weights folder, a URI instead."""
    root = folder / "net-remote"
    shutil.copytree(model.root, root, ignore=shutil.ignore_patterns("weights"))
    metadata = json.loads((root / "model.json").read_text())
    (root / "model.json").write_text(json.dumps({**metadata, "weights": uri}))
    return root


def answers(server: LiveServer) -> list[float]:
    body = {
        "inputs": [
            {"name": "x", "datatype": "FP32", "shape": [3, 4], "data": [v for row in ROWS for v in row]}
        ]
    }
    response = httpx.post(f"{server.base}/v2/models/net/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["outputs"][0]["data"]


def test_weights_from_s3_serve_the_same_answers_as_from_local_disk_and_a_restart_fetches_nothing(
    seaweed: SeaweedS3, net_model: NetModel, tmp_path: Path
) -> None:
    uri = seaweed.uri("net-served")
    push(seaweed.env(seaweed.admin), net_model.weights, uri)
    local = start_server(tmp_path, LIFTOFF_MODEL_PATH=str(net_model.root), LIFTOFF_GRPC_PORT="0")
    try:
        expected = answers(local)
    finally:
        local.stop()
    remote_root = remote_copy(net_model, tmp_path, uri)
    cache = tmp_path / "cache"
    env = {
        **seaweed.env(seaweed.reader),
        "LIFTOFF_MODEL_PATH": str(remote_root),
        "LIFTOFF_WEIGHTS_DIR": str(cache),
        "LIFTOFF_GRPC_PORT": "0",
    }
    total = build_manifest(net_model.weights).total_bytes
    first = start_server(tmp_path, **env)
    try:
        assert answers(first) == expected
        assert first.metric("liftoff_weights_fetched_bytes_total") == total
        assert first.metric("liftoff_weights_files_reused_total") == 0
    finally:
        first.stop()
    assert "weights from s3://weights/net-served/: 3 files" in first.log.read_text()
    second = start_server(tmp_path, **env)
    try:
        assert answers(second) == expected
        assert second.metric("liftoff_weights_fetched_bytes_total") == 0
        assert second.metric("liftoff_weights_files_reused_total") == 3
    finally:
        second.stop()


def test_a_corrupt_object_never_loads_and_the_reason_names_it(
    seaweed: SeaweedS3, net_model: NetModel, tmp_path: Path, store_env: pytest.MonkeyPatch
) -> None:
    uri = seaweed.uri("net-served-corrupt")
    shard = net_model.weights / "model-00002-of-00002.safetensors"
    push(seaweed.env(seaweed.admin), net_model.weights, uri)
    # The manifest says one thing, the bucket holds another under the same object name, as a bad upload or
    # a bit flip at rest would leave it.
    good = build_manifest(net_model.weights, content_addressed=True)
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    for name, value in seaweed.env(seaweed.admin).items():
        store_env.setenv(name, value)
    key = next(e.key for e in good.files if e.path == shard.name)
    obstore.put(open_store(parse_uri(uri), 30), key, bytes(data))
    settings = Settings(model_path=remote_copy(net_model, tmp_path, uri), weights_dir=tmp_path / "cache")
    with pytest.raises(ModelLoadError) as refused:
        prepare_model(settings)
    assert str(refused.value).startswith(f"weights object {uri}{key}: sha256 ")
    assert shard.name in str(refused.value)
    assert not (tmp_path / "cache" / shard.name).exists()


def test_a_directory_with_its_weights_on_disk_gets_that_folder_as_weights_dir(net_model: NetModel) -> None:
    model = prepare_model(Settings(model_path=net_model.root))
    assert model.context.weights_dir == net_model.weights.resolve()  # type: ignore[union-attr]


def test_safetensors_load_keeps_every_tensor_exact(net_model: NetModel) -> None:
    from safetensors.torch import load_file

    for shard in net_model.weights.glob("*.safetensors"):
        ours, reference = load_safetensors(shard), load_file(shard)
        assert ours.keys() == reference.keys()
        assert all(torch.equal(ours[k], reference[k]) for k in ours)
