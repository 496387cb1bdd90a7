"""`/predict` bodies that are not JSON: a raw file or text by content type, or multipart/form-data uploads.

A model takes them through BYTES inputs that declare `content_types` in model.json; each body becomes one
row of `bytes` for the handler's decode. A content type the model does not take gets 415, naming those it
does, and for a numeric model a hint of what to send instead.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP

import numpy as np

from service.api.errors import ApiError
from service.model.metadata import ModelMetadata, TensorSpec

JSON = "application/json"
MULTIPART = "multipart/form-data"


def media_type(header: str | None) -> str:
    """`image/png` from `image/PNG; q=1`; an absent header counts as JSON, as clients often send none."""
    return (header or JSON).split(";", 1)[0].strip().lower() or JSON


def is_json(media: str) -> bool:
    return media == JSON or media.endswith("+json")


def accepted(meta: ModelMetadata) -> list[str]:
    """Every content type `/predict` takes for this model."""
    types = [JSON]
    for spec in meta.inputs:
        types.extend(t for t in spec.content_types if t not in types)
    if len(types) > 1:
        types.append(MULTIPART)
    return types


def refuse(media: str, meta: ModelMetadata) -> ApiError:
    message = f"model {meta.name!r} does not take {media} bodies; it takes {', '.join(accepted(meta))}"
    if not any(spec.content_types for spec in meta.inputs):
        first = meta.inputs[0]
        message += (
            f'. Send JSON {{"instances": [...]}}, each instance a row of {first.name!r} '
            f"({first.datatype} {list(first.shape)}); a model that takes images or text declares a BYTES "
            "input with content_types in model.json and decodes it in handler.py (docs/your-model.md)"
        )
    return ApiError(415, message)


def raw_rows(media: str, body: bytes, meta: ModelMetadata) -> list[np.ndarray]:
    """A raw body as one row of the one input that takes its content type."""
    takers = [spec for spec in meta.inputs if media in spec.content_types]
    if not takers:
        raise refuse(media, meta)
    if len(meta.inputs) != 1:
        raise ApiError(
            400, f"model {meta.name!r} takes several inputs: send {MULTIPART} with one part per input name"
        )
    return [_one_row(body)]


def multipart_rows(header: str, body: bytes, meta: ModelMetadata) -> list[np.ndarray]:
    """One row per input from a form upload: the part named like the input, or, for a model with one input,
    the one part. Blocking (the e-mail parser): run it off the event loop."""
    if not any(spec.content_types for spec in meta.inputs):
        raise refuse(MULTIPART, meta)
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + header.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    parts: dict[str, bytes] = {}
    if isinstance(message, EmailMessage) and message.is_multipart():
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                parts[name] = payload
    if not parts:
        raise ApiError(
            400, f"the {MULTIPART} body has no named parts (curl -F '{meta.inputs[0].name}=@file')"
        )
    if len(meta.inputs) == 1 and len(parts) == 1:
        return [_one_row(next(iter(parts.values())))]
    rows = []
    for spec in meta.inputs:
        if spec.name not in parts:
            raise ApiError(
                400, f"the form has no part named {spec.name!r} (model {meta.name!r} takes {_names(meta)})"
            )
        rows.append(_one_row(parts[spec.name]) if spec.datatype == "BYTES" else _refuse_numeric(spec))
    return rows


def _one_row(payload: bytes) -> np.ndarray:
    row = np.empty(1, dtype=object)
    row[0] = payload
    return row


def _refuse_numeric(spec: TensorSpec) -> np.ndarray:
    raise ApiError(400, f"input {spec.name!r} is {spec.datatype}: send it as JSON to /v2/models/.../infer")


def _names(meta: ModelMetadata) -> list[str]:
    return [spec.name for spec in meta.inputs]
