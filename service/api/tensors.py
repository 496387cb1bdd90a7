"""Turning JSON tensor data into numpy arrays the model can take, or a 400 that says what is wrong."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from service.api import encoded
from service.api.errors import ApiError
from service.model.datatypes import ACCEPTED_KINDS, NUMPY_DTYPES
from service.model.metadata import TensorSpec

_KIND_NAMES = {
    "b": "boolean",
    "i": "integer",
    "u": "integer",
    "f": "floating-point",
    "U": "string",
    "S": "string",
    "O": "mixed or null",
}


def bad(message: str) -> ApiError:
    return ApiError(400, message)


def fits(row_shape: Sequence[int], spec: TensorSpec) -> bool:
    """One row's shape matches the declared one, where -1 takes any length."""
    return len(row_shape) == len(spec.row_shape) and all(
        want in (-1, got) for got, want in zip(row_shape, spec.row_shape, strict=True)
    )


def to_bytes_array(data: Any, where: str) -> np.ndarray:
    """JSON strings (flat or nested) to an object array of `bytes`, UTF-8 encoded, as BYTES tensors hold."""
    try:
        raw = np.asarray(data, dtype=object)
    except (ValueError, TypeError):
        raise bad(f"{where} is not a rectangular array of strings (rows of different lengths?)") from None
    flat = raw.reshape(-1)
    for index, item in enumerate(flat):
        if isinstance(item, str):
            flat[index] = item.encode("utf-8")
        elif not isinstance(item, bytes):
            raise bad(
                f"{where} holds {_JSON_KINDS.get(type(item).__name__, 'a value')}, but a BYTES tensor holds strings"
            )
    return raw


def to_array(data: Any, spec: TensorSpec, where: str) -> np.ndarray:
    """JSON numbers (flat or nested) to an array of the tensor's datatype, refusing lossy conversions."""
    if spec.datatype == "BYTES":
        return to_bytes_array(data, where)
    try:
        raw = np.asarray(data)
    except (ValueError, TypeError, OverflowError):
        raise bad(f"{where} is not a rectangular array of numbers (rows of different lengths?)") from None
    if raw.size and raw.dtype.kind not in ACCEPTED_KINDS[spec.datatype]:
        kind = _KIND_NAMES.get(raw.dtype.kind, raw.dtype.kind)
        raise bad(f"{where} holds {kind} values, but {spec.name!r} is {spec.datatype}")
    target = NUMPY_DTYPES[spec.datatype]
    if raw.dtype.kind in "iu" and target.kind in "iu" and raw.size:
        info = np.iinfo(target)
        if raw.min() < info.min or raw.max() > info.max:
            raise bad(f"{where} has values outside the {spec.datatype} range [{info.min}, {info.max}]")
    with np.errstate(over="ignore"):  # an overflow becomes inf, which check_finite refuses by name
        array = raw.astype(target, copy=False)
    return check_finite(array, spec, where)


def check_finite(array: np.ndarray, spec: TensorSpec, where: str) -> np.ndarray:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise bad(f"{where} contains NaN or infinity (or a number too large for {spec.datatype})")
    return array


def check_rows(rows: int, max_batch_size: int, where: str) -> None:
    if rows < 1:
        raise bad(f"{where} is an empty batch: send at least one row")
    if rows > max_batch_size:
        raise bad(
            f"{where} has {rows} rows, more than the limit of {max_batch_size} per request "
            "(LIFTOFF_MAX_BATCH_SIZE); split it into several requests"
        )


_JSON_KINDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "NoneType": "null",
    "dict": "an object",
    "list": "a list",
}
"""What a JSON value decoded to, in the words of JSON."""


def check_shape(shape: Sequence[int], spec: TensorSpec, where: str, max_batch_size: int) -> None:
    if any(dim < 0 for dim in shape):
        raise bad(
            f"{where}.shape is {list(shape)}: a request gives its tensor's actual sizes, 0 or more "
            f"({spec.name!r} is declared {list(spec.shape)}, where -1 means any size)"
        )
    if len(shape) != len(spec.shape) or not fits(shape[1:], spec):
        raise bad(
            f"{where}.shape is {list(shape)}, but {spec.name!r} takes {list(spec.shape)} "
            "(-1: any number of rows)"
        )
    check_rows(shape[0], max_batch_size, f"{where}")


def check_count(data: Any, shape: Sequence[int], where: str) -> None:
    """Before numpy walks JSON data: a flat list must hold the shape's count of values, a nested one the
    shape's length at every level. Only the lists are visited, never the values, so a wrong count costs
    little however many values (or empty BYTES strings) a body packs."""
    if not isinstance(data, list) or not data:
        return
    if not isinstance(data[0], list):
        expected = math.prod(shape)
        if len(data) != expected:
            raise bad(f"{where}.data has {len(data)} values, but shape {list(shape)} needs {expected}")
        return
    level: list[Any] = [data]
    for depth, size in enumerate(shape):
        for item in level:
            if not isinstance(item, list) or len(item) != size:
                got = len(item) if isinstance(item, list) else "a value instead of a list"
                raise bad(
                    f"{where}.data is not a rectangular array of shape {list(shape)}: "
                    f"it has {got} entries at depth {depth}, where the shape needs {size}"
                )
        if depth + 1 < len(shape):
            level = [inner for item in level for inner in item]
    if any(item and isinstance(item[0], list) for item in level):
        raise bad(f"{where}.data is nested deeper than shape {list(shape)}")


def shaped(
    array: np.ndarray, shape: Sequence[int], spec: TensorSpec, where: str, max_batch_size: int
) -> np.ndarray:
    """Give flat or nested data the declared request shape, after checking it fits the model's input."""
    check_shape(shape, spec, where, max_batch_size)
    expected = math.prod(shape)
    if array.size != expected:
        raise bad(f"{where}.data has {array.size} values, but shape {list(shape)} needs {expected}")
    if array.shape != tuple(shape):
        array = array.reshape(shape)
    return array if array.dtype.kind == "O" else np.ascontiguousarray(array)


def instances_array(instances: list[Any], spec: TensorSpec, max_batch_size: int) -> np.ndarray:
    """`/predict` rows: the batch dimension is the list itself; each row must have the input's row shape."""
    check_rows(len(instances), max_batch_size, "instances")
    if encoded.is_encoded(instances):
        return check_finite(encoded.decode_instances(instances, spec), spec, "instances")
    row_length = spec.row_shape[0] if spec.row_shape else -1
    for row in instances if row_length > 0 else ():
        # Refused before numpy walks it: a wrong row length is cheap to see and costly to convert.
        if isinstance(row, list) and len(row) != row_length:
            raise bad(
                f"each instance must have shape {list(spec.row_shape)} (the {spec.name!r} input), "
                f"got instances of shape [{len(row)}{', ...' if len(spec.row_shape) > 1 else ''}]"
            )
    array = to_array(instances, spec, "instances")
    if not fits(array.shape[1:], spec):
        raise bad(
            f"each instance must have shape {list(spec.row_shape)} (the {spec.name!r} input), "
            f"got instances of shape {list(array.shape[1:])}"
        )
    return array if array.dtype.kind == "O" else np.ascontiguousarray(array)


def strings(array: np.ndarray) -> Any:
    """A BYTES array as nested lists of JSON strings (UTF-8; undecodable bytes become U+FFFD)."""
    as_text = np.vectorize(
        lambda item: item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
    )
    return as_text(array).tolist() if array.size else array.tolist()
