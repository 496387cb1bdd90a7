"""The JSON beside a model: what the server serves, refused with a clear message when it is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from service.model.metadata import MetadataError, load_metadata
from service.model.served import ModelLoadError, load_model


def write_json(model_path: Path, content: object) -> None:
    model_path.with_suffix(".json").write_text(json.dumps(content))


def test_metadata_loads_and_describes_rows(linear_model: Path) -> None:
    metadata = load_metadata(linear_model)
    assert metadata.name == "linear" and metadata.version == "3"
    assert metadata.inputs[0].row_shape == (3,)
    assert metadata.platform is None  # not declared: the loader names it from the file
    assert load_model(linear_model, "cpu", "float32").metadata.platform == "pytorch_torchscript"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3]}]}, "first dimension is the batch"),
        ({"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 0]}]}, "or -1 for a variable one"),
        ({"inputs": [{"name": "x", "datatype": "STRING", "shape": [-1, 3]}]}, "inputs.0.datatype"),
        ({"outputs": []}, "outputs"),
        ({"name": "has spaces"}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_metadata_is_refused_naming_the_field(linear_model: Path, change: dict, words: str) -> None:
    content = json.loads(linear_model.with_suffix(".json").read_text())
    content.update(change)
    write_json(linear_model, content)
    with pytest.raises(MetadataError, match="is not valid model metadata") as refused:
        load_metadata(linear_model)
    assert words in str(refused.value)


def test_a_model_without_metadata_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match=r"model\.json is missing"):
        load_metadata(tmp_path / "model.pt")


def test_outputs_that_disagree_with_the_metadata_fail_the_warm_up(linear_model: Path) -> None:
    content = json.loads(linear_model.with_suffix(".json").read_text())
    content["outputs"] = [{"name": "y", "datatype": "FP32", "shape": [-1, 5]}]
    write_json(linear_model, content)
    model = load_model(linear_model, "cpu", "float32")
    with pytest.raises(ModelLoadError, match=r"output 'y' has shape \[1, 2\]"):
        model.warm_up(4)


def test_a_file_that_is_not_torchscript_is_refused(tmp_path: Path, linear_model: Path) -> None:
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"this is not a zip archive")
    bogus.with_suffix(".json").write_text(linear_model.with_suffix(".json").read_text())
    with pytest.raises(ModelLoadError, match="not a loadable TorchScript file"):
        load_model(bogus, "cpu", "float32")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_runs_the_model_and_answers_in_the_declared_datatype(
    linear_model: Path, dtype: str
) -> None:
    model = load_model(linear_model, "cpu", dtype)
    assert model.dtype == getattr(torch, dtype)
    (y,) = model.run([np.array([[1, 0, 0], [0, 1, 2]], np.float32)])
    assert y.dtype == np.float32
    assert y.tolist() == [[1.5, 3.0], [8.5, 16.0]]  # small integers and halves are exact in 16 bits


def exported_linear(folder: Path, dynamic_batch: bool = True) -> Path:
    layer = torch.nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
        layer.bias.copy_(torch.tensor([0.5, -1.0]))
    shapes = ({0: torch.export.Dim("batch", min=1, max=4096)},) if dynamic_batch else None
    program = torch.export.export(layer, (torch.zeros(2, 3),), dynamic_shapes=shapes)
    path = folder / "linear.pt2"
    torch.export.save(program, str(path))
    write_json(
        path,
        {
            "name": "linear",
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
            "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
        },
    )
    return path


def test_an_exported_program_is_served_like_torchscript(tmp_path: Path) -> None:
    model = load_model(exported_linear(tmp_path), "cpu", "float32")
    model.warm_up(8)
    assert model.metadata.platform == "pytorch_export"
    (y,) = model.run([np.array([[1, 0, 0], [0, 1, 2], [2, 2, 2]], np.float32)])
    assert y.tolist() == [[1.5, 3.0], [8.5, 16.0], [12.5, 29.0]]  # y0 = x0+2x1+3x2+0.5, y1 = 4x0+5x1+6x2-1


def test_an_exported_program_without_a_dynamic_batch_fails_its_warm_up(tmp_path: Path) -> None:
    model = load_model(exported_linear(tmp_path, dynamic_batch=False), "cpu", "float32")
    with pytest.raises(
        ModelLoadError, match=r"predict with 1 row\(s\) \(export the model with a dynamic batch"
    ):
        model.warm_up(8)  # exported for exactly 2 rows
