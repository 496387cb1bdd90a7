"""Pure ASGI middleware (no BaseHTTPMiddleware: it copies every body and costs a task per request).

`RequestMetricsMiddleware` stamps every response with the replica id and records the request metrics.
`BodyLimitMiddleware` refuses bodies over the limit while reading them: at once when Content-Length says
so, otherwise as soon as the streamed bytes pass the limit, so an oversized body is never held in memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import JSON, ApiError, error_body
from service.metrics import Metrics

log = logging.getLogger(__name__)

UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
OTHER_METHOD = "other"
"""The method label of any method but the above: the parser takes hundreds of names, and each would grow
the label set for good."""
BODY_TIMEOUT_FLAG = "liftoff.body_timeout"
"""Set in the scope by the connection guard when the body timeout cut the request off (it answered 408)."""
CLIENT_CLOSED = 499
"""The status label for a client that went away before its answer (nginx's code): nothing is sent, and it is
the client's doing, so it is neither a 500 nor an error in the log."""


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp, replica_id: str, metrics: Metrics) -> None:
        self.app = app
        self.replica_header = (b"x-liftoff-replica", replica_id.encode("latin-1"))
        self.metrics = metrics
        # The labelled metric children per (route, method, status): looking them up by keyword on every
        # request was a visible share of a small model's request CPU.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        hide_query_strings_in_access_log()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        replica_header = self.replica_header

        async def send_with_replica(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), replica_header]
            await send(message)

        metrics = self.metrics
        metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_replica)
        except asyncio.CancelledError:
            # The server cancels what is still running when the drain timeout ends: say so, so the client
            # retries elsewhere instead of seeing a bare 500.
            if not status:
                status = 503
                retry = (b"retry-after", b"1")
                await send_json(
                    send, 503, "the server shut down before answering; retry", [replica_header, retry]
                )
            raise
        except ClientDisconnect:
            if scope.get(BODY_TIMEOUT_FLAG):
                status = 408
                log.info("the body timeout closed %s %s", scope["method"], scope["path"])
            else:
                status = status or CLIENT_CLOSED
                log.info("the client closed the connection during %s %s", scope["method"], scope["path"])
        except Exception:
            if status:  # too late for an error response; let the server close the connection
                raise
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            status = 500
            await send_json(
                send, 500, "internal server error; the server log has the details", [replica_header]
            )
        finally:
            metrics.in_flight.dec()
            method = scope["method"]
            key = (_route_label(scope), method if method in KNOWN_METHODS else OTHER_METHOD, status)
            children = self._children.get(key)
            if children is None:
                route, method, _ = key
                children = self._children[key] = (
                    metrics.requests.labels(route=route, method=method, status=str(status)),
                    metrics.request_seconds.labels(route=route),
                )
            children[0].inc()
            children[1].observe(time.perf_counter() - started)


class _QueryFreeAccessLog(logging.Filter):
    """uvicorn's access log line (debug level) with the path alone: a client may put a key or other secret
    in a query string, and a log line is read by more people than the server's clients."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def hide_query_strings_in_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, _QueryFreeAccessLog) for existing in access.filters):
        access.addFilter(_QueryFreeAccessLog())


def _route_label(scope: Scope) -> str:
    """The route's template (`/v2/models/{name}/infer`), never the raw path: labels must stay few."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class BodyCapMiddleware:
    """An HTTP request's middleware (other scopes pass through) that caps its body at `max_body_bytes()`: the
    limit now (it follows the model once loaded; see service/body_limit.py)."""

    def __init__(self, app: ASGIApp, max_body_bytes: Callable[[], int]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class BodyLimitMiddleware(BodyCapMiddleware):
    """On the wire: the bytes the client sends."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_body_bytes()
        too_large = f"the request body is larger than {limit} bytes (LIFTOFF_MAX_BODY_BYTES)"
        for name, value in scope["headers"]:
            if name == b"content-length":
                # (bytes.isdigit is ASCII-only; a length too long to be real is over any limit.)
                if value.isdigit() and (len(value) > 18 or int(value) > limit):
                    await send_json(send, 413, too_large, [(b"connection", b"close")])
                    return
                break
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ApiError(413, too_large)
            return message

        await self.app(scope, limited_receive, send)


async def send_json(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = error_body(message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
