"""Every gRPC call through one interceptor: the key checked on the call's metadata, limits, and the count in
the same `liftoff_requests_total` series as HTTP (service/grpc/metrics.py).

What it holds, in the order a call meets it:

1. **The key, from the metadata alone.** A call without a configured key (or with two `authorization`
   entries) is answered UNAUTHENTICATED by a handler that never reads the request message: grpc's unary
   handlers wait for the message before any code of ours runs, so a refusal that waited could be held open
   by a client that never sends it. The refusal is one prebuilt handler per route that sets the status and
   returns, no exception and no traceback: the least Python work grpc.aio allows per call. The health
   service needs no key, as /readyz does not.
2. **The message, within the body timeout.** Served unary methods run as request-streaming handlers that
   read the one message themselves, under LIFTOFF_BODY_TIMEOUT_S, and parse it themselves: a message that
   never arrives ends the call (counted 408, as HTTP's body timeout), one that does not parse is
   INVALID_ARGUMENT without the protobuf library's text or a logged traceback (counted 400).
3. **The call slots, once the message is in.** At most LIFTOFF_QUEUE_LIMIT calls run at once; more are
   RESOURCE_EXHAUSTED (counted 503). A call waiting for its message holds no slot, so waiting calls cannot
   starve served ones; what bounds them is the stream cap per connection and the connection cap
   (service/grpc/listener.py).
4. **Health Watch streams**, which run until cancelled: at most WATCH_LIMIT at once, more refused
   RESOURCE_EXHAUSTED, each counted when it ends (no latency: a stream's lifetime is not one).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

from service.auth import KeyStore
from service.grpc import ROUTE_PREFIX
from service.grpc.metrics import CLIENT_CLOSED, METHOD, SERVED, STATUS
from service.metrics import Metrics
from service.middleware import UNMATCHED_ROUTE

HEALTH = "/grpc.health.v1.Health/"
WATCH_LIMIT = 64
"""Health Watch streams open at once: load balancers that watch hold one or two each."""
UNAUTHENTICATED = "this server needs an API key: send metadata `authorization: Bearer <key>`"
DUPLICATE = "send one `authorization` metadata entry, not several"
MESSAGE_TIMEOUT = 408  # the status label, as the HTTP body timeout's
INVALID = grpc.StatusCode.INVALID_ARGUMENT


@dataclass(frozen=True)
class CallLimits:
    max_calls: int
    """Calls running at once (LIFTOFF_QUEUE_LIMIT): the batcher's queue bounds the rows, this the calls."""
    message_timeout_s: float
    """From a call's start to its request message (LIFTOFF_BODY_TIMEOUT_S)."""
    max_watches: int = WATCH_LIMIT


class CallGuard(grpc.aio.ServerInterceptor):
    def __init__(self, metrics: Metrics, keys: KeyStore | None, limits: CallLimits) -> None:
        self.metrics = metrics
        self.keys = keys if keys is not None and keys.enabled else None
        self.limits = limits
        self.running = 0
        self.watching = 0
        # grpc.RpcMethodHandlers built once per route and behaviour: grpc hands the same ones every call.
        self._built: dict[tuple[Any, ...], grpc.RpcMethodHandler] = {}
        self._children: dict[tuple[str, int], Any] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.grpc.RpcMethodHandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.grpc.RpcMethodHandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = details.method or ""
        name = method.rsplit("/", 1)[-1]
        route = ROUTE_PREFIX + (name if name in SERVED else UNMATCHED_ROUTE)
        if self.keys is not None and not method.startswith(HEALTH):
            refusal = self._key_refusal(details.invocation_metadata)
            if refusal is not None:
                return self._refusal(route, grpc.StatusCode.UNAUTHENTICATED, refusal)
        handler = await continuation(details)
        if handler is None:
            return self._refusal(route, grpc.StatusCode.UNIMPLEMENTED, f"unknown method {method[:200]!r}")
        if handler.unary_unary is not None:
            key = (route, handler.unary_unary)
            built = self._built.get(key)
            if built is None:
                built = self._built[key] = self._guarded(route, handler)
            return built
        if handler.unary_stream is not None and method.startswith(HEALTH):
            key = (route, handler.unary_stream)
            built = self._built.get(key)
            if built is None:
                built = self._built[key] = self._watched(ROUTE_PREFIX + name, handler)
            return built
        return handler

    def _key_refusal(self, metadata: Any) -> str | None:
        assert self.keys is not None
        header = None
        for entry in metadata or ():
            if entry[0] == "authorization":
                if header is not None:
                    return DUPLICATE
                header = entry[1]
        if self.keys.accepts_authorization(header if isinstance(header, str) else None):
            return None
        return UNAUTHENTICATED

    def _count(self, route: str, status: int) -> None:
        child = self._children.get((route, status))
        if child is None:
            child = self._children[(route, status)] = self.metrics.requests.labels(
                route=route, method=METHOD, status=str(status)
            )
        child.inc()

    def _refusal(self, route: str, code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
        """A request-streaming handler that answers `code` without reading the request."""
        key = (route, code, message)
        built = self._built.get(key)
        if built is not None:
            return built
        status = STATUS.get(code, 500)
        count = self._count
        seconds = self.metrics.request_seconds.labels(route=route)

        async def refuse(requests: Any, context: grpc.aio.ServicerContext) -> None:
            started = time.perf_counter()
            context.set_code(code)
            context.set_details(message)
            count(route, status)
            seconds.observe(time.perf_counter() - started)

        built = grpc.stream_unary_rpc_method_handler(refuse)
        if len(self._built) < 1024:  # a made-up method's name is in the message: never kept past a bound
            self._built[key] = built
        return built

    def _guarded(self, route: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        behavior = handler.unary_unary
        parse = handler.request_deserializer
        limits, metrics, count = self.limits, self.metrics, self._count
        seconds = metrics.request_seconds.labels(route=route)
        what = route.removeprefix(ROUTE_PREFIX)

        async def guarded(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            status: int | None = None  # None: the code the call ends with says it
            running = False
            try:
                try:
                    async with asyncio.timeout(limits.message_timeout_s):
                        raw = await context.read()
                except TimeoutError:
                    status = MESSAGE_TIMEOUT
                    return _answer(
                        context,
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        f"the request message did not arrive within {limits.message_timeout_s:g} s "
                        "(LIFTOFF_BODY_TIMEOUT_S)",
                    )
                if raw is grpc.aio.EOF:
                    return _answer(context, INVALID, f"the call carried no {what} request message")
                try:
                    request = parse(raw) if parse is not None else raw
                except Exception:  # the library's text (and a traceback) stays out of the answer and the log
                    return _answer(context, INVALID, f"the request is not a valid {what} protobuf message")
                if self.running >= limits.max_calls:
                    return _answer(
                        context,
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"the server is running its limit of {limits.max_calls} calls "
                        "(LIFTOFF_QUEUE_LIMIT); retry",
                    )
                self.running += 1
                running = True
                metrics.in_flight.inc()
                return await behavior(request, context)
            except asyncio.CancelledError:
                status = CLIENT_CLOSED
                raise
            except BaseException:
                status = STATUS.get(context.code() or grpc.StatusCode.UNKNOWN, 500)
                raise
            finally:
                if running:
                    self.running -= 1
                    metrics.in_flight.dec()
                if status is None:
                    status = STATUS.get(context.code() or grpc.StatusCode.OK, 500)
                count(route, status)
                seconds.observe(time.perf_counter() - started)

        return grpc.stream_unary_rpc_method_handler(guarded, response_serializer=handler.response_serializer)

    def _watched(self, route: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        behavior = handler.unary_stream
        limits, count = self.limits, self._count

        async def watched(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            if self.watching >= limits.max_watches:
                context.set_code(grpc.StatusCode.RESOURCE_EXHAUSTED)
                context.set_details(f"the server has {limits.max_watches} health Watch streams open; retry")
                count(route, 503)
                return
            self.watching += 1
            status = 200
            try:
                async for answer in behavior(request, context):
                    yield answer
            except asyncio.CancelledError:
                status = CLIENT_CLOSED
                raise
            finally:
                self.watching -= 1
                count(route, status)

        return grpc.unary_stream_rpc_method_handler(
            watched,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _answer(context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str) -> None:
    """End the call with `code`, without abort()'s exception."""
    context.set_code(code)
    context.set_details(message)
    return None
