"""The one model check: a loaded model directory runs a sample through decode, a batched predict and encode,
and every output is held to model.json's name, datatype and shape.

The server's warm-up is this check (service/model/startup.py), and so are `python -m service check DIR`,
`make plan` / `pulumi preview` on `liftoff:model` and the image build's last step: what passes here is what
serves. The sample is the directory's own (model.json's `sample`, docs/your-model.md), else, for numeric
inputs, zeros of the declared shapes, a variable dimension tried at two lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.handler import RequestError
from service.model.datatypes import NUMPY_DTYPES
from service.model.metadata import ModelMetadata, TensorSpec
from service.model.served import ModelLoadError, ServedModel


@dataclass(frozen=True)
class Sample:
    inputs: list[np.ndarray]
    """One request's inputs in model.json's order, one row each."""
    source: str
    """Where it came from, for the log: `model.json's sample`, `zeros of the declared shapes`, ..."""
    length: int | None = None
    """For made-up inputs with a variable dimension: the length it was given."""


def samples(metadata: ModelMetadata, root: Path) -> list[Sample]:
    """The requests the check sends; a ModelLoadError naming model.json's `sample` when it cannot say one."""
    declared = metadata.sample or {}
    made = [spec for spec in metadata.inputs if spec.name not in declared]
    for spec in made:
        if spec.datatype == "BYTES":
            raise ModelLoadError(
                f"model.json: input {spec.name!r} is BYTES, so the check needs a sample of it: add "
                f'"sample": {{"{spec.name}": "<a value>"}} or {{"{spec.name}": {{"file": "<file in the directory>"}}}} '
                "(docs/your-model.md, 'The sample')"
            )
    variable = any(spec.variable for spec in made)
    lengths = [1, 2] if variable else [1]
    source = (
        "model.json's sample"
        if not made
        else f"zeros of the declared shapes for {', '.join(repr(s.name) for s in made)}"
        + (" with model.json's sample for the rest" if declared else "")
    )
    found = []
    for length in lengths:
        inputs = [
            _declared(spec, declared[spec.name], root)
            if spec.name in declared
            else np.zeros(
                (1, *(length if dim == -1 else dim for dim in spec.row_shape)), NUMPY_DTYPES[spec.datatype]
            )
            for spec in metadata.inputs
        ]
        found.append(Sample(inputs, source, length if variable else None))
    return found


def _declared(spec: TensorSpec, value: Any, root: Path) -> np.ndarray:
    where = f"model.json: sample {spec.name!r}"
    if isinstance(value, dict):  # {"file": ...}: the metadata's validator allows nothing else
        path = (root / value["file"]).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            raise ModelLoadError(
                f"{where} names the file {value['file']!r}, which is not a file inside {root.name}/"
            )
        if spec.datatype != "BYTES":
            raise ModelLoadError(f"{where} is a file, which only a BYTES input takes; give the row's numbers")
        value = path.read_bytes()
    if spec.datatype == "BYTES":
        row = np.empty(1, dtype=object) if not isinstance(value, list) else None
        if row is not None:
            row[0] = value.encode("utf-8") if isinstance(value, str) else value
            if not isinstance(row[0], bytes):
                raise ModelLoadError(f"{where} must be a string or a file for a BYTES input")
        else:
            row = np.asarray([v.encode("utf-8") if isinstance(v, str) else v for v in value], dtype=object)
        array: np.ndarray = row.reshape(1, *row.shape)
        if len(spec.row_shape) == 0:
            array = array.reshape(1)
    else:
        try:
            array = np.asarray(value, dtype=NUMPY_DTYPES[spec.datatype])[None]
        except (TypeError, ValueError):
            raise ModelLoadError(f"{where} is not {spec.datatype} numbers") from None
    if array.ndim != len(spec.shape) or any(
        want not in (-1, got) for got, want in zip(array.shape[1:], spec.row_shape, strict=True)
    ):
        raise ModelLoadError(
            f"{where} has one row of shape {list(array.shape[1:])}, but the input declares rows of "
            f"{list(spec.row_shape)} (shape {list(spec.shape)})"
        )
    return array


def check_model(model: ServedModel, max_batch_size: int) -> str:
    """Run the directory's sample alone and as a full batch; raises ModelLoadError with the stage and the
    reason, else returns what it ran, for the log."""
    metadata = model.metadata
    batch = max(1, max_batch_size)
    ran = []
    for sample in samples(metadata, model.context.directory):
        at = f" at variable length {sample.length}" if sample.length is not None else ""
        decoded = _stage("decode", at, lambda s=sample: model.decode(s.inputs, 1), sample)
        for rows in sorted({1, batch}):
            stacked = decoded if rows == 1 else [np.concatenate([array] * rows) for array in decoded]
            outputs = _stage(
                f"predict with {rows} row(s)", at, lambda s=stacked: model.forward(s), sample, model
            )
            for name, array in outputs.items():
                if array.ndim < 1 or array.shape[0] != rows:
                    raise ModelLoadError(
                        f"the check: predict returned {name!r} of shape {list(array.shape)} for {rows} row(s)"
                        f"{at}: keep the batch's rows first"
                    )
            first = {name: array[:1] for name, array in outputs.items()}
            answer = _stage("encode", at, lambda o=first: model.encode(o, 1, strict=True), sample)
        ran.append(f"1 row and a batch of {batch}{at}")
    shapes = ", ".join(
        f"{spec.name} {spec.datatype} {list(array.shape)}"
        for spec, array in zip(metadata.outputs, answer, strict=True)
    )
    return (
        f"model {metadata.name!r} version {metadata.version}: {sample.source} through decode, predict and "
        f"encode ({'; '.join(ran)}); outputs {shapes} as model.json declares"
    )


def _stage(name: str, at: str, run: Any, sample: Sample, model: ServedModel | None = None) -> Any:
    try:
        return run()
    except RequestError as exc:
        raise ModelLoadError(
            f"the check's sample ({sample.source}) was refused by {name}{at}: {exc.message}"
        ) from exc
    except Exception as exc:
        hint = ""
        if model is not None and model.metadata.platform == "pytorch_export":
            hint = " (export the model with a dynamic batch dimension)"
        if sample.length is not None:
            hint = (
                " (model.json declares a variable dimension, -1: if the model takes one size only, declare that"
                " size)"
            )
        raise ModelLoadError(f"the check failed in {name}{at}{hint}: {type(exc).__name__}: {exc}") from exc
