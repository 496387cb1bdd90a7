"""The JSON file beside a TorchScript model that says what it is and what tensors it takes and gives.

Example (the default model's `model.json`):

    {"name": "digits", "version": "1",
     "inputs":  [{"name": "pixels", "datatype": "FP32", "shape": [-1, 64]}],
     "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]},
                 {"name": "label", "datatype": "INT64", "shape": [-1]}]}

The first dimension of every tensor is the batch (-1). A later -1 is a variable dimension (a text's length):
requests are batched only with requests of the same shape, so a model never sees ragged rows; a handler
that pads can make more of them alike. `BYTES` tensors (strings, image files) need a handler to decode them.
A model directory holds this file as `model.json` (service/model/directory.py). `forward` takes the inputs in the listed order and returns
one tensor, or a tuple of tensors in the order of `outputs`. The model file is TorchScript (`.pt`,
`torch.jit.save`) or an exported program (`.pt2`, `torch.export.save` with a dynamic batch dimension).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from service.model.datatypes import Datatype


class TensorSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    datatype: Datatype
    shape: tuple[int, ...] = Field(min_length=1)

    @field_validator("shape")
    @classmethod
    def _batch_first_then_fixed(cls, shape: tuple[int, ...]) -> tuple[int, ...]:
        if shape[0] != -1:
            raise ValueError("the first dimension is the batch and must be -1")
        if any(dim < 1 and dim != -1 for dim in shape[1:]):
            raise ValueError("dimensions after the batch must be positive sizes, or -1 for a variable one")
        return shape

    content_types: tuple[str, ...] = ()
    """For a `BYTES` input: the media types `/predict` takes as a raw body for it (`image/png`, `text/plain`)."""

    @model_validator(mode="after")
    def _content_types_need_bytes(self) -> TensorSpec:
        if self.content_types and self.datatype != "BYTES":
            raise ValueError(f"content_types needs datatype BYTES, not {self.datatype}")
        return self

    @property
    def variable(self) -> bool:
        """Some dimension after the batch is -1."""
        return -1 in self.shape[1:]

    @property
    def row_shape(self) -> tuple[int, ...]:
        """The shape of one row: everything after the batch dimension."""
        return self.shape[1:]


class ModelMetadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    version: str = Field(default="1", min_length=1)
    platform: str | None = None
    """What OIP model metadata reports; by default the file's kind (`pytorch_torchscript`, `pytorch_export`)."""
    inputs: tuple[TensorSpec, ...] = Field(min_length=1)
    outputs: tuple[TensorSpec, ...] = Field(min_length=1)
    sample: dict[str, Any] | None = None
    """One request the check runs through the model (service/model/check.py), by input name: one row's
    value as JSON (a string is its UTF-8 bytes for a BYTES input), or `{"file": "<path in the directory>"}`
    whose bytes are one row of a BYTES input. Numeric inputs left out are made from their shapes."""
    weights: str | None = None
    """Weights kept out of the image: an object-store URI (s3://, gs://, az://, https://) or a folder inside
    the directory, which `pulumi up` uploads and the image build never copies."""

    @model_validator(mode="after")
    def _unique_names(self) -> ModelMetadata:
        for kind, specs in (("inputs", self.inputs), ("outputs", self.outputs)):
            names = [spec.name for spec in specs]
            if len(set(names)) != len(names):
                raise ValueError(f"{kind} names must be unique, got {names}")
        return self

    @field_validator("weights")
    @classmethod
    def _weights_uri_or_folder(cls, weights: str | None) -> str | None:
        if weights is None:
            return None
        scheme, sep, rest = weights.partition("://")
        if sep:
            if scheme not in WEIGHTS_SCHEMES or not rest.strip("/"):
                raise ValueError(
                    f"{weights!r} is not a weights location; allowed: "
                    f"{', '.join(s + '://bucket/prefix/' for s in WEIGHTS_SCHEMES)}, or a folder inside the directory"
                )
            return weights
        folder = PurePosixPath(weights)
        if (
            not weights.strip()
            or folder.is_absolute()
            or ".." in folder.parts
            or folder == PurePosixPath(".")
        ):
            raise ValueError(
                f'{weights!r} must be a folder inside the model directory (like "weights/"), '
                "or an s3://, gs://, az:// or https:// URI"
            )
        return weights

    @model_validator(mode="after")
    def _sample_names_inputs(self) -> ModelMetadata:
        if self.sample is None:
            return self
        names = [spec.name for spec in self.inputs]
        unknown = [key for key in self.sample if key not in names]
        if unknown:
            raise ValueError(f"sample names {unknown}, which are not inputs; allowed: {names}")
        for key, value in self.sample.items():
            if isinstance(value, dict) and (set(value) != {"file"} or not isinstance(value["file"], str)):
                raise ValueError(
                    f'sample {key!r}: an object must be {{"file": "<path in the directory>"}}, '
                    "else give the row's value itself"
                )
        return self

    @property
    def local_weights(self) -> str | None:
        """The folder inside the directory that `weights` names, if it names one."""
        return self.weights if self.weights is not None and "://" not in self.weights else None

    def output(self, name: str) -> TensorSpec | None:
        return next((spec for spec in self.outputs if spec.name == name), None)


WEIGHTS_SCHEMES = ("s3", "gs", "az", "https")


class MetadataError(ValueError):
    """The metadata file is missing or says something the server cannot serve."""


METADATA_FILE = "model.json"


def metadata_path_for(model_path: Path) -> Path:
    """`model.json` in a model directory; beside a model file, the same stem with `.json`."""
    return model_path / METADATA_FILE if model_path.is_dir() else model_path.with_suffix(".json")


def load_metadata(model_path: Path) -> ModelMetadata:
    path = metadata_path_for(model_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MetadataError(
            f"{path.name} is missing from {path.parent}: every model needs it, declaring its name, "
            "version, inputs and outputs (python -m service init-model writes a starter directory)"
        ) from None
    try:
        return ModelMetadata.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise MetadataError(f"{path} is not valid model metadata: {problems}") from None
