"""`/predict` rows sent as base64, `{"b64": "..."}` per instance (TensorFlow Serving's and KServe v1's way).

An image as JSON numbers is 3-4 bytes per pixel and slow to parse; as base64 of its raw bytes it is 1.33
bytes per pixel and decodes at memory speed. Each instance carries one row's raw little-endian bytes; for a
BYTES input of one element a row, the element itself (an encoded file, binary data JSON cannot carry).
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import numpy as np

from service.api.errors import ApiError
from service.model.datatypes import NUMPY_DTYPES
from service.model.metadata import TensorSpec

KEY = "b64"


def is_encoded(instances: list[Any]) -> bool:
    return bool(instances) and isinstance(instances[0], dict)


def decode_instances(instances: list[Any], spec: TensorSpec) -> np.ndarray:
    """The rows as one array `[n, *row_shape]`, or a 400 naming the instance that is wrong."""
    if spec.datatype == "BYTES" and all(dim in (1, -1) for dim in spec.row_shape):
        elements = [_decoded(item, f"instances[{index}]") for index, item in enumerate(instances)]
        array = np.empty(len(elements), dtype=object)
        array[:] = elements
        return array.reshape(len(elements), *(1 for _ in spec.row_shape))
    if spec.variable or spec.datatype == "BYTES":
        raise ApiError(
            400,
            f'{{"b64": ...}} rows need an input of fixed shape and numeric datatype; {spec.name!r} is not',
        )
    dtype = NUMPY_DTYPES[spec.datatype]
    row_bytes = math.prod(spec.row_shape) * dtype.itemsize
    rows = []
    for index, item in enumerate(instances):
        where = f"instances[{index}]"
        raw = _decoded(item, where)
        if len(raw) != row_bytes:
            raise ApiError(
                400,
                f"{where}.b64 holds {len(raw)} bytes, but one row of {spec.name!r} "
                f"({spec.datatype} {list(spec.row_shape)}) is {row_bytes} bytes",
            )
        rows.append(raw)
    little = dtype.newbyteorder("<")
    # A bytearray, so the array is writable, as torch wants; astype is free on a little-endian host.
    array = np.frombuffer(bytearray(b"".join(rows)), dtype=little).astype(dtype, copy=False)
    return array.reshape(len(rows), *spec.row_shape)


def _decoded(item: Any, where: str) -> bytes:
    if not isinstance(item, dict) or set(item) != {KEY} or not isinstance(item[KEY], str):
        raise ApiError(400, f'{where} must be {{"b64": "<base64 of one row\'s bytes>"}}, like instances[0]')
    try:
        return base64.b64decode(item[KEY], validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{where}.b64 is not valid base64") from None
