"""Open Inference Protocol tensor datatypes and the numpy dtypes they travel as."""

from __future__ import annotations

from typing import Literal

import numpy as np

Datatype = Literal["BOOL", "UINT8", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"]

NUMPY_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    # Strings and raw bytes, one Python `bytes` per element: only a handler turns them into tensors.
    "BYTES": np.dtype(object),
}

# Which kinds of JSON value (as numpy infers them) a datatype accepts without silently losing information:
# an integer tensor refuses 1.5 rather than truncating it, a float tensor refuses true.
ACCEPTED_KINDS: dict[str, str] = {
    "BOOL": "b",
    "UINT8": "iu",
    "INT8": "iu",
    "INT16": "iu",
    "INT32": "iu",
    "INT64": "iu",
    "FP16": "iuf",
    "FP32": "iuf",
    "FP64": "iuf",
    "BYTES": "USO",
}


def is_floating(datatype: str) -> bool:
    return datatype.startswith("FP")
