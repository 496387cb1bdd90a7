"""The largest request body the model can take, so the server refuses the rest while reading it.

A digits request is about 1 KB and a full batch of 32 rows about 10 KB, yet the body limit was 8 MiB: 8 MiB
of `0,0,...` cost a third of a second of parsing before the 400 that its shape earned (issue 20, item 3).
By default the limit follows the model: its largest request is max batch size rows of every input, each
value written as the longest number JSON can hold for it, plus room for the names, shapes and whitespace.
`LIFTOFF_MAX_BODY_BYTES` overrides it; a model whose rows have no fixed size (a variable dimension, BYTES
such as images) keeps the fallback.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from service.model.metadata import TensorSpec

JSON_BYTES_PER_VALUE = 25
"""`-1.2345678901234567e-308,`: the longest a float64 prints, with its separator (integers are shorter)."""
JSON_ROOM_BYTES = 64 * 1024
"""Names, shapes, parameters, ids and a client's indentation, on top of the values."""
FALLBACK_BYTES = 8 * 1024 * 1024
"""For rows without a fixed size, and before the model is loaded (no body is read then: 503 first)."""


def model_body_limit(inputs: Sequence[TensorSpec], max_batch_size: int) -> int:
    values_per_row = 0
    for spec in inputs:
        if spec.datatype == "BYTES" or any(dim < 0 for dim in spec.row_shape):
            return FALLBACK_BYTES
        values_per_row += math.prod(spec.row_shape)
    return max_batch_size * values_per_row * JSON_BYTES_PER_VALUE + JSON_ROOM_BYTES
