"""The Open Inference Protocol's binary tensor extension, as Triton's clients use it by default.

A request may carry tensors as raw little-endian bytes after its JSON: the header
`Inference-Header-Content-Length` says where the JSON ends, and each binary input declares
`parameters.binary_data_size` instead of `data`. Outputs come back the same way when the request asks
(`parameters.binary_data_output`, or `binary_data` on one output).
https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md
"""

from __future__ import annotations

from typing import Any

import numpy as np

from service.api.errors import ApiError
from service.api.schemas import InferRequest

HEADER = "inference-header-content-length"
EXTENSION = "binary_tensor_data"


def split_body(raw: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON part and the binary part of a request body."""
    if header_length is None:
        return raw, b""
    # ASCII digits only, and few of them: str.isdigit also takes '²', and int() refuses over 4,300 digits,
    # each of which was a 500.
    if (
        not (header_length.isascii() and header_length.isdigit())
        or len(header_length) > len(str(len(raw)))
        or int(header_length) > len(raw)
    ):
        raise ApiError(
            400,
            f"the Inference-Header-Content-Length header ({header_length[:24]!r}) must be a "
            f"byte count no larger than the body ({len(raw)} bytes)",
        )
    cut = int(header_length)
    return raw[:cut], raw[cut:]


def binary_sizes(body: InferRequest) -> list[int | None]:
    """Per input, the size of its binary data, or None when it carries JSON `data`."""
    sizes: list[int | None] = []
    for index, tensor in enumerate(body.inputs):
        size = (tensor.parameters or {}).get("binary_data_size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise ApiError(400, f"inputs[{index}].parameters.binary_data_size must be a byte count")
        if size is None and tensor.data is None:
            raise ApiError(400, f"inputs[{index}].data is required (or binary data with binary_data_size)")
        if size is not None and tensor.data is not None:
            raise ApiError(400, f"inputs[{index}] has both data and binary_data_size; send one")
        sizes.append(size)
    return sizes


def slice_binary(binary: bytes, sizes: list[int | None]) -> list[bytes | None]:
    """Cut the binary part into each input's bytes, in the order of the request's inputs."""
    if sum(size or 0 for size in sizes) != len(binary):
        raise ApiError(
            400,
            f"the inputs declare {sum(size or 0 for size in sizes)} bytes of binary data, "
            f"but the body carries {len(binary)} after the JSON header",
        )
    chunks: list[bytes | None] = []
    offset = 0
    for size in sizes:
        if size is None:
            chunks.append(None)
        else:
            chunks.append(binary[offset : offset + size])
            offset += size
    return chunks


def from_bytes(chunk: bytes, dtype: np.dtype, where: str, count: int | None = None) -> np.ndarray:
    """`count`: the elements the tensor's declared shape holds (checked against the batch limit already)."""
    if dtype.kind == "O":
        return bytes_elements(chunk, where, count)
    little = dtype.newbyteorder("<")
    if len(chunk) % little.itemsize:
        raise ApiError(
            400, f"{where} has {len(chunk)} bytes, not a whole number of {little.itemsize}-byte values"
        )
    # A copy: frombuffer's view is read-only, and torch wants tensors it may write to.
    return np.frombuffer(chunk, dtype=little).astype(dtype)


def bytes_elements(chunk: bytes, where: str, count: int | None = None) -> np.ndarray:
    """A BYTES tensor's binary form: each element a 4-byte little-endian length, then that many bytes.
    With `count`, the walk stops at the first element too many (or refuses at once a chunk too short to
    hold that many), so a body of millions of empty elements costs no more than the shape it declares."""
    if count is not None and len(chunk) < 4 * count:
        raise ApiError(400, f"{where} has {len(chunk)} bytes, too few for the {count} elements of its shape")
    elements = []
    offset = 0
    while offset < len(chunk):
        if count is not None and len(elements) == count:
            raise ApiError(400, f"{where} holds more than the {count} elements of its shape")
        if offset + 4 > len(chunk):
            raise ApiError(400, f"{where} ends inside an element's 4-byte length")
        size = int.from_bytes(chunk[offset : offset + 4], "little")
        offset += 4
        if offset + size > len(chunk):
            raise ApiError(400, f"{where} declares a {size}-byte element past the end of its data")
        elements.append(chunk[offset : offset + size])
        offset += size
    array = np.empty(len(elements), dtype=object)
    array[:] = elements
    return array


def bytes_wire(array: np.ndarray) -> bytes:
    """The inverse of `bytes_elements`, for BYTES outputs sent as binary."""
    return b"".join(len(item).to_bytes(4, "little") + item for item in array.reshape(-1))


def as_strings(array: np.ndarray) -> list[str]:
    """BYTES elements as JSON strings (UTF-8; undecodable bytes become U+FFFD rather than failing)."""
    return [item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in array]


def wants_binary(body: InferRequest) -> dict[str, bool]:
    """Per requested output name, whether it goes back as binary; the key `*` is the request's default."""
    default = bool((body.parameters or {}).get("binary_data_output", False))
    choice = {"*": default}
    for requested in body.outputs or []:
        flag = (requested.parameters or {}).get("binary_data")
        choice[requested.name] = default if flag is None else bool(flag)
    return choice


def encode_outputs(
    outputs: list[dict[str, Any]], binary: dict[str, bool]
) -> tuple[list[dict[str, Any]], bytes]:
    """Replace `data` by `parameters.binary_data_size` for binary outputs; return the bytes to append."""
    tail = []
    for output in outputs:
        if binary.get(output["name"], binary["*"]):
            array: np.ndarray = output.pop("data")
            if array.dtype.kind == "O":
                raw = bytes_wire(array)
            else:
                raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
            output["parameters"] = {"binary_data_size": len(raw)}
            tail.append(raw)
        elif output["data"].dtype.kind == "O":
            output["data"] = as_strings(output["data"])
    return outputs, b"".join(tail)
