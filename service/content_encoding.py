"""Compressed request bodies (`Content-Encoding: gzip` or `deflate`), decoded as they arrive.

Triton's clients compress the whole request, the binary tensors included, and keep
`Inference-Header-Content-Length` at the JSON's size before compression, so the routes see the decoded body
exactly as if it had been sent plain. The decoded size counts against the same body limit as a plain body's:
a small body that inflates past it (a "zip bomb") is refused with 413 as soon as the limit is passed, never
inflated whole. Any other encoding is refused with 415 naming the two, instead of reading compressed bytes as
JSON.
"""

from __future__ import annotations

import zlib

from starlette.types import Message, Receive, Scope, Send

from service.api.errors import ApiError
from service.middleware import BodyCapMiddleware, send_json

SUPPORTED = ("gzip", "deflate")
IDENTITY = "identity"
# gzip's registered alias (RFC 9110, section 8.4.1.3).
ALIASES = {"x-gzip": "gzip"}
DROPPED_HEADERS = (b"content-encoding", b"content-length")
"""The decoded body has no encoding and a length nobody announced: the routes read it to its end."""


def _decoder(encoding: str, first: bytes) -> zlib._Decompress:
    """gzip's wrapper, or deflate's: HTTP's `deflate` is the zlib format (RFC 9110), but some clients send
    the bare deflate stream, told apart by zlib's two header bytes (a multiple of 31, method 8)."""
    if encoding == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    zlib_header = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] * 256 + first[1]) % 31 == 0
    return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)


def encodings(scope: Scope) -> list[str]:
    """The request's content codings, in the order they were applied; identity is no coding."""
    found: list[str] = []
    for name, value in scope["headers"]:
        if name == b"content-encoding":
            for part in value.decode("latin-1").split(","):
                coding = part.strip().lower()
                if coding and coding != IDENTITY:
                    found.append(ALIASES.get(coding, coding))
    return found


class ContentEncodingMiddleware(BodyCapMiddleware):
    """Inside the body limit (which caps the bytes on the wire): `max_body_bytes()` caps the decoded ones."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        codings = encodings(scope)
        if not codings:
            await self.app(scope, receive, send)
            return
        unsupported = [coding for coding in codings if coding not in SUPPORTED]
        if unsupported or len(codings) > 1:
            what = unsupported[0] if unsupported else ", ".join(codings)
            await send_json(
                send,
                415,
                f"Content-Encoding {what!r} is not supported: send the body plain, or compressed once "
                f"with one of {', '.join(SUPPORTED)}",
                [(b"accept-encoding", ", ".join(SUPPORTED).encode())],
            )
            return
        limit = self.max_body_bytes()
        scope = {
            **scope,
            "headers": [(name, value) for name, value in scope["headers"] if name not in DROPPED_HEADERS],
        }
        await self.app(scope, _decoding(receive, codings[0], limit), send)


def _decoding(receive: Receive, encoding: str, limit: int) -> Receive:
    too_large = f"the request body, decompressed, is larger than {limit} bytes (LIFTOFF_MAX_BODY_BYTES)"
    decoder: zlib._Decompress | None = None
    decoded = 0

    async def receive_decoded() -> Message:
        nonlocal decoder, decoded
        message = await receive()
        if message["type"] != "http.request":
            return message
        chunk = message.get("body", b"")
        if decoder is None and chunk:
            decoder = _decoder(encoding, chunk)
        try:
            # At most one byte past the limit is ever inflated: enough to know the body is too large.
            out = decoder.decompress(chunk, limit - decoded + 1) if decoder is not None else b""
            if decoder is not None and decoder.unconsumed_tail:
                raise ApiError(413, too_large)
            more = message.get("more_body", False)
            if not more and decoder is not None:
                out += decoder.flush()
                if not decoder.eof:
                    raise ApiError(400, f"the {encoding} body ends before its compressed stream does")
        except zlib.error:
            raise ApiError(400, f"the body is not valid {encoding} data (Content-Encoding)") from None
        decoded += len(out)
        if decoded > limit:
            raise ApiError(413, too_large)
        return {"type": "http.request", "body": out, "more_body": more}

    return receive_decoded
