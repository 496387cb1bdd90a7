"""What the inference routes share: reaching the app's state, parsing JSON bodies, running the batcher."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from service.api.errors import JSON, ApiError, describe_validation_errors
from service.batching import Batcher, Rejected
from service.handler import RequestError
from service.model.served import ServedModel
from service.state import ServerState

Body = TypeVar("Body", bound=BaseModel)
Decoded = TypeVar("Decoded")

INLINE_DECODE_BYTES = 16 * 1024
"""Bodies up to this size are decoded on the event loop (a tenth of a millisecond; a thread hand-off would
cost about as much); larger ones on a thread, so no client can hold the loop."""

log = logging.getLogger(__name__)

# Seconds a refused client should wait before retrying. Batches take milliseconds, so one second is plenty.
RETRY_AFTER_S = "1"


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.liftoff
    return state


def ready_model(state: ServerState) -> tuple[ServedModel, Batcher]:
    if state.model is None or state.batcher is None:
        raise ApiError(503, state.not_ready_reason(), {"Retry-After": RETRY_AFTER_S})
    return state.model, state.batcher


async def decode_body(size: int, decode: Callable[[], Decoded]) -> Decoded:
    """Run `decode` (JSON parsing, arrays, checks) off the event loop when the body is large. The thread
    still takes turns at the GIL with the loop, at most `sys.getswitchinterval()` (5 ms) each."""
    if size <= INLINE_DECODE_BYTES:
        return decode()
    return await asyncio.to_thread(decode)


COMMA = ord(",")


REFUSED_BODY_PAUSE_S = 0.05
"""How long a body with more values than the model can take waits for its 400. A careless client loses 50 ms
once; a client posting such bodies back to back gets at most 20 answers a second on a connection, where it
got as many as the cores could refuse, and two such clients could multiply a third client's p99. The pause
costs no CPU, and must come before the batcher hears of the request."""


async def check_separators(json_text: bytes, limit: int | None) -> None:
    """Refuse, on the event loop and before any parsing, a JSON body with more values than the model's
    largest request (`limit`: ServerState.max_json_separators). A body too large is cheap to send and dear
    to parse: counting the separators costs a fraction of what parsing does."""
    if limit is None or len(json_text) <= limit:
        return
    found = int(np.count_nonzero(np.frombuffer(json_text, dtype=np.uint8) == COMMA))
    if found > limit:
        await asyncio.sleep(REFUSED_BODY_PAUSE_S)
        raise ApiError(
            400,
            f"the body holds more values than the model takes in one request: {found} commas, where its "
            f"largest request (max batch size rows) needs at most {limit}; send fewer rows per request",
        )


def parse_json(raw: bytes, model: type[Body]) -> Body:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if b"NaN" in raw or b"Infinity" in raw:
            raise ApiError(
                400, "the body contains NaN or Infinity, which are not JSON numbers and not valid model input"
            ) from None
        raise ApiError(
            400,
            f"the body is not valid JSON (line {exc.lineno}, column {exc.colno}): {_json_problem(raw, exc)}",
        ) from None
    if not isinstance(document, dict):
        raise ApiError(400, f"the body must be a JSON object, got {type(document).__name__}")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ApiError(400, describe_validation_errors(exc.errors())) from None


def _json_problem(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """What is wrong, in our words: the parser's own text is a library's, which no response carries."""
    if "surrogate" in str(exc) or "UTF-8" in str(exc):
        return "it holds text that is not valid UTF-8 (a lone surrogate escape such as \\ud800, or raw bytes)"
    if exc.pos >= len(raw.rstrip()):
        return "it ends early"
    return "unexpected character there"


async def infer(state: ServerState, batcher: Batcher, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """One request's inputs (model.json's order, rows first) through decode, the batcher and encode; its
    outputs in model.json's order. A handler's own decode and encode run in the decode pool; the defaults
    cost next to nothing and run here."""
    model = state.model
    assert model is not None
    rows = int(inputs[0].shape[0])
    try:
        if model.decodes:
            with batcher.incoming():  # a batch waits for requests still being decoded
                loop = asyncio.get_running_loop()
                tensors = await loop.run_in_executor(state.decode_pool, model.decode, inputs, rows)
        else:
            tensors = model.decode(inputs, rows)
        outputs = await batcher.infer(tensors)
        assert isinstance(outputs, dict)
        if model.encodes:
            return await asyncio.get_running_loop().run_in_executor(
                state.decode_pool, model.encode, outputs, rows
            )
        return model.encode(outputs, rows)
    except Rejected as exc:
        raise ApiError(503, str(exc), {"Retry-After": RETRY_AFTER_S}) from None
    except RequestError as exc:  # the handler refused the request, in words meant for the client
        raise ApiError(exc.status, exc.message) from None
    except Exception as exc:
        raise internal_error(exc) from None


def internal_error(exc: BaseException) -> ApiError:
    """A 500 that tells the client only a request id; the traceback, under the same id, goes to the log."""
    request_id = uuid.uuid4().hex[:16]
    log.error("request %s failed", request_id, exc_info=exc)
    return ApiError(
        500,
        f"internal error (request id {request_id}); the server log has the details",
        {"X-Request-Id": request_id},
    )


def json_response(content: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status, media_type=JSON
    )
