"""The request and response bodies, as pydantic models: they validate the envelope and document the API.

Tensor `data` stays `list[Any]` here: numpy checks its numbers much faster than pydantic would, and with
messages that name the tensor (see service/api/tensors.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RequestInput(_Body):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any] | None = Field(
        default=None,
        description="row-major values, flat or nested to the tensor's shape; absent when the tensor travels "
        "as binary after the JSON (parameters.binary_data_size, the binary tensor extension)",
    )
    parameters: dict[str, Any] | None = None


class RequestOutput(_Body):
    name: str
    parameters: dict[str, Any] | None = None


class InferRequest(_Body):
    """Open Inference Protocol v2 inference request."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "42",
                "inputs": [{"name": "pixels", "shape": [1, 64], "datatype": "FP32", "data": [0.0] * 64}],
            }
        }
    )

    id: str | None = Field(default=None, description="echoed in the response")
    parameters: dict[str, Any] | None = None
    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = Field(
        default=None, description="which outputs to return; all when absent"
    )


class ResponseOutput(_Body):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = None


class InferResponse(_Body):
    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[ResponseOutput]


class TensorMetadata(_Body):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadataResponse(_Body):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ServerMetadataResponse(_Body):
    name: str
    version: str
    extensions: list[str]


class ModelReadyResponse(_Body):
    name: str
    ready: bool


class PredictRequest(_Body):
    """Rows for a single-input model, each shaped like one row of its input (the digits model: 64 numbers)."""

    model_config = ConfigDict(json_schema_extra={"example": {"instances": [[0.0] * 64]}})

    instances: list[Any]


class PredictResponse(_Body):
    """One prediction per instance: the output's row for a one-output model, else an object keyed by
    output name (the digits model: `{"probabilities": [10 floats], "label": int}`)."""

    predictions: list[Any]


class ErrorResponse(_Body):
    error: str


REQUEST_MODELS: tuple[type[BaseModel], ...] = (InferRequest, PredictRequest)


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a body the handler parses itself (with orjson), pointing at the model's schema."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    }
