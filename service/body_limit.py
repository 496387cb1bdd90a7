"""The largest request body the model can take, so the server refuses the rest while reading it.

A digits request is about 1 KB and a full batch of 32 rows about 10 KB, so a fixed limit of megabytes lets a
client make the server parse far more than any valid request before the 400 that its shape earns.
By default the limit follows the model: its largest request is max batch size rows of every input, each
value written as the longest number JSON can hold for it, plus room for the names, shapes and whitespace.
`LIFTOFF_MAX_BODY_BYTES` overrides it; a model whose rows have no fixed size (a variable dimension, BYTES
such as images) keeps the fallback. Within the byte limit, a JSON body may hold no more commas than the
model's largest request has values (plus room): the limit is in bytes of the longest numbers, and a body of
short ones (`0,0,...`) would otherwise be parsed whole before its 400.
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


JSON_ROOM_SEPARATORS = 4096
"""Commas besides the values' own: between keys, rows, inputs and shape dimensions, and inside ids and
parameter strings. Generous: a legitimate body has a few dozen."""


def values_per_row(inputs: Sequence[TensorSpec]) -> int | None:
    """How many numbers one row of every input holds; None when a row has no fixed size."""
    values = 0
    for spec in inputs:
        if spec.datatype == "BYTES" or any(dim < 0 for dim in spec.row_shape):
            return None
        values += math.prod(spec.row_shape)
    return values


def model_body_limit(inputs: Sequence[TensorSpec], max_batch_size: int) -> int:
    per_row = values_per_row(inputs)
    if per_row is None:
        return FALLBACK_BYTES
    return max_batch_size * per_row * JSON_BYTES_PER_VALUE + JSON_ROOM_BYTES


def model_separator_limit(inputs: Sequence[TensorSpec], max_batch_size: int) -> int | None:
    """The most commas a JSON request the model can take holds (None: rows without a fixed size).

    Every value but the last of its array is followed by a comma, so a body with more commas than the
    largest request's values, plus room, cannot be one the model takes. Counting them (numpy, about 50 us
    for 116 KB) costs a tenth of parsing them: a body of `0,0,...` as large as the byte limit allows holds
    28 times the values of the largest request, and is refused on its count, before any parse."""
    per_row = values_per_row(inputs)
    if per_row is None:
        return None
    return max_batch_size * per_row + JSON_ROOM_SEPARATORS
