"""Every refusal is JSON `{"error": "..."}` (the Open Inference Protocol's error shape) with a 4xx or 503.

Handlers raise `ApiError`; the exception handlers here turn it, and FastAPI's own errors, into that shape.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

JSON = "application/json"


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def error_body(message: str) -> bytes:
    return orjson.dumps({"error": message})


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(error_body(message), status_code=status, headers=headers, media_type=JSON)


async def api_error_response(_: Request, exc: Exception) -> Response:
    """The answer to an `ApiError`, for FastAPI's routes and the fast path alike."""
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.headers)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, str(exc.detail), exc.headers)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, describe_validation_errors(exc.errors()))


def describe_validation_errors(errors: object) -> str:
    """pydantic's errors as one line a person can act on, in our words (`inputs[0].shape: must be a list`):
    the library's own text is not an answer a client should depend on."""
    parts = []
    for err in errors if isinstance(errors, list | tuple) else []:
        where = ""
        for part in err.get("loc", ()):
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        parts.append(f"{where or 'body'}: {_problem(err)}")
    return "; ".join(parts) or "invalid request"


_TYPES = {
    "list": "a list",
    "tuple": "a list",
    "string": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "dict": "an object",
    "model": "an object",
    "model_attributes": "an object",
}


def _problem(err: Mapping[str, object]) -> str:
    kind = str(err.get("type", ""))
    ctx = err.get("ctx")
    context: Mapping[str, object] = ctx if isinstance(ctx, Mapping) else {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field here"
    if kind == "too_short":
        return f"must hold at least {context.get('min_length', 1)} item(s)"
    if kind == "too_long":
        return f"must hold at most {context.get('max_length')} item(s)"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(context.values()), None)
        words = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most"}
        return f"must be {words.get(kind, 'less than')} {bound}"
    base = kind.removesuffix("_type").removesuffix("_parsing").removesuffix("_from_float")
    if base in _TYPES:
        return f"must be {_TYPES[base]}"
    return "is not a value this field takes"


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error_response)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
