"""`/predict` bodies that are not JSON: a raw file or text by content type, or multipart/form-data uploads.

A model takes them through BYTES inputs that declare `content_types` in model.json; each body becomes one
row of `bytes` for the handler's decode. A content type the model does not take gets 415, naming those it
does, and for a numeric model a hint of what to send instead.
"""

from __future__ import annotations

import re

import numpy as np

from service.api.errors import ApiError
from service.model.metadata import ModelMetadata, TensorSpec

JSON = "application/json"
MULTIPART = "multipart/form-data"
_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
# `name=` as a parameter of its own (after `;`), never the tail of `filename=`.
_PART_NAME = re.compile(r';\s*name\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', re.IGNORECASE)


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
    the one part. Fast enough to run on the event loop for small bodies (bytes.find over the body); the
    caller moves large ones off it."""
    if not any(spec.content_types for spec in meta.inputs):
        raise refuse(MULTIPART, meta)
    parts = form_parts(header, body)
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


def form_parts(header: str, body: bytes) -> dict[str, bytes]:
    """The named parts of a multipart/form-data body (RFC 7578), by name; the last of a repeated name wins.

    A small splitter rather than the e-mail parser, which costs more CPU than a small upload's whole
    request (`make bench`, image-classifier): a form upload's parts carry their bytes as they are, with no transfer
    encoding to undo."""
    found = _BOUNDARY.search(header)
    if found is None:
        raise ApiError(400, f"the {MULTIPART} content type has no boundary parameter")
    delimiter = b"--" + (found.group(1) or found.group(2)).encode("latin-1")
    parts: dict[str, bytes] = {}
    position = body.find(delimiter)
    while position >= 0:
        position += len(delimiter)
        if body.startswith(b"--", position):
            return parts  # the close delimiter
        head_start = body.find(b"\r\n", position)
        head_end = body.find(b"\r\n\r\n", head_start) if head_start >= 0 else -1
        end = body.find(b"\r\n" + delimiter, head_end + 4) if head_end >= 0 else -1
        if end < 0:
            raise ApiError(400, f"the {MULTIPART} body ends before its closing boundary")
        name = _part_name(body[head_start + 2 : head_end])
        if name is not None:
            parts[name] = body[head_end + 4 : end]
        position = end + 2
    return parts


def _part_name(head: bytes) -> str | None:
    for line in head.decode("utf-8", "replace").split("\r\n"):
        field, _, value = line.partition(":")
        if field.strip().lower() == "content-disposition":
            found = _PART_NAME.search(";" + value.split(";", 1)[1] if ";" in value else "")
            if found:
                return found.group(1) if found.group(1) is not None else found.group(2)
    return None


def _one_row(payload: bytes) -> np.ndarray:
    row = np.empty(1, dtype=object)
    row[0] = payload
    return row


def _refuse_numeric(spec: TensorSpec) -> np.ndarray:
    raise ApiError(400, f"input {spec.name!r} is {spec.datatype}: send it as JSON to /v2/models/.../infer")


def _names(meta: ModelMetadata) -> list[str]:
    return [spec.name for spec in meta.inputs]
