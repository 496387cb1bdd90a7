"""A model directory loads, or start-up stops with a message that says what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from service.handler import Handler
from service.model.directory import open_model
from service.model.metadata import MetadataError
from service.model.served import ModelLoadError, ServedModel
from service.model.startup import prepare_model
from service.settings import Settings
from tests.service.conftest import LINEAR_METADATA, write_model


def model_dir(tmp_path: Path, handler: str | None = None, metadata: dict | None = None) -> Path:
    root = tmp_path / "mine"
    root.mkdir()
    (root / "model.json").write_text(json.dumps(metadata or LINEAR_METADATA))
    if handler is not None:
        (root / "handler.py").write_text(handler)
    return root


def test_a_directory_with_a_model_file_and_no_handler_serves_the_file(tmp_path: Path) -> None:
    root = model_dir(tmp_path)
    write_model(nn.Linear(3, 2), root / "model.pt", LINEAR_METADATA)
    model = prepare_model(Settings(model_path=root))
    assert isinstance(model, ServedModel) and model.metadata.name == "linear"
    assert type(model.handler) is Handler  # no handler.py: the default Handler, the one path


def test_a_directory_without_model_json_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "model.pt").write_bytes(b"")
    with pytest.raises(MetadataError, match=r"has no model\.json"):
        open_model(tmp_path)


def test_a_directory_with_neither_model_file_nor_handler_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        MetadataError, match=r"neither a model file \(model\.pt or model\.pt2\) nor a handler\.py"
    ):
        open_model(model_dir(tmp_path))


@pytest.mark.parametrize("saved", ["state_dict", "module"])
def test_a_torch_save_file_is_named_with_what_to_do(tmp_path: Path, saved: str) -> None:
    root = model_dir(tmp_path)
    layer = nn.Linear(3, 2)
    torch.save(layer.state_dict() if saved == "state_dict" else layer, root / "model.pt")
    with pytest.raises(ModelLoadError) as refused:
        prepare_model(Settings(model_path=root))
    message = str(refused.value)
    assert "torch.save file (a state_dict or a pickled module)" in message
    assert "load it in handler.py, or save the model with torch.jit.script / torch.export" in message


def test_a_handler_that_fails_to_import_names_the_file_and_line(tmp_path: Path) -> None:
    root = model_dir(tmp_path, "from service.handler import Handler\n\n\nundefined_name + 1\n")
    with pytest.raises(ModelLoadError, match=r"handler\.py failed to import: handler\.py line 4: NameError"):
        prepare_model(Settings(model_path=root))


def test_a_handler_with_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    root = model_dir(tmp_path, "from service.handler import Handler\nclass H(Handler)\n    pass\n")
    with pytest.raises(ModelLoadError, match=r"handler\.py line 2: SyntaxError"):
        prepare_model(Settings(model_path=root))


def test_a_handler_without_a_model_file_must_define_setup_and_predict(tmp_path: Path) -> None:
    root = model_dir(tmp_path, "from service.handler import Handler\n\nclass Mine(Handler):\n    pass\n")
    with pytest.raises(ModelLoadError, match="Mine must define setup and predict"):
        prepare_model(Settings(model_path=root))


def test_a_handler_file_without_a_handler_class_is_refused(tmp_path: Path) -> None:
    root = model_dir(tmp_path, "x = 1\n")
    with pytest.raises(ModelLoadError, match=r"exactly one subclass of service\.handler\.Handler"):
        prepare_model(Settings(model_path=root))


def test_a_handler_beside_a_model_file_gets_the_loaded_module(tmp_path: Path) -> None:
    root = model_dir(
        tmp_path, "from service.handler import Handler\n\nclass PassThrough(Handler):\n    pass\n"
    )
    write_model(nn.Linear(3, 2), root / "model.pt", LINEAR_METADATA)
    model = prepare_model(Settings(model_path=root))
    assert type(model.handler).__name__ == "PassThrough" and model.context.module is not None
    assert not model.decodes and not model.encodes


def test_a_variable_dimension_the_model_cannot_take_stops_start_up(tmp_path: Path) -> None:
    metadata = {**LINEAR_METADATA, "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, -1]}]}
    root = model_dir(tmp_path, metadata=metadata)
    write_model(nn.Linear(3, 2), root / "model.pt", metadata)
    with pytest.raises(ModelLoadError, match="variable dimension"):
        prepare_model(Settings(model_path=root))


def test_a_bytes_input_without_a_handler_is_refused(tmp_path: Path) -> None:
    metadata = {**LINEAR_METADATA, "inputs": [{"name": "x", "datatype": "BYTES", "shape": [-1]}]}
    root = model_dir(tmp_path, metadata=metadata)
    write_model(nn.Linear(3, 2), root / "model.pt", metadata)
    with pytest.raises(ModelLoadError, match=r"BYTES, which a model file cannot take: a handler\.py"):
        prepare_model(Settings(model_path=root))


def test_a_bytes_input_with_the_default_decode_is_refused(tmp_path: Path) -> None:
    metadata = {**LINEAR_METADATA, "inputs": [{"name": "x", "datatype": "BYTES", "shape": [-1]}]}
    root = model_dir(
        tmp_path, "from service.handler import Handler\n\nclass Keeps(Handler):\n    pass\n", metadata
    )
    write_model(nn.Linear(3, 2), root / "model.pt", metadata)
    with pytest.raises(ModelLoadError, match="Keeps keeps the default decode, which passes bytes through"):
        prepare_model(Settings(model_path=root))
