"""What the inference routes share: reaching the app's state, parsing JSON bodies, running the batcher."""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from service.api.errors import JSON, ApiError, describe_validation_errors
from service.batching import Batcher, Rejected
from service.model.served import ServedModel
from service.state import ServerState

Body = TypeVar("Body", bound=BaseModel)

# Seconds a refused client should wait before retrying. Batches take milliseconds, so one second is plenty.
RETRY_AFTER_S = "1"


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.liftoff
    return state


def ready_model(state: ServerState) -> tuple[ServedModel, Batcher]:
    if state.model is None or state.batcher is None:
        raise ApiError(503, state.not_ready_reason(), {"Retry-After": RETRY_AFTER_S})
    return state.model, state.batcher


def parse_json(raw: bytes, model: type[Body]) -> Body:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if b"NaN" in raw or b"Infinity" in raw:
            raise ApiError(
                400, "the body contains NaN or Infinity, which are not JSON numbers and not valid model input"
            ) from None
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ApiError(400, f"the body must be a JSON object, got {type(document).__name__}")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ApiError(400, describe_validation_errors(exc.errors())) from None


async def infer(batcher: Batcher, inputs: list[np.ndarray]) -> list[np.ndarray]:
    try:
        return await batcher.infer(inputs)
    except Rejected as exc:
        raise ApiError(503, str(exc), {"Retry-After": RETRY_AFTER_S}) from None
    except Exception:  # the model itself failed; the batcher has logged the traceback
        # Not the exception's text: torch's messages name source files and internals.
        raise ApiError(500, "the forward pass failed; the server log has the details") from None


def json_response(content: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status, media_type=JSON
    )
