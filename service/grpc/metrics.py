"""gRPC calls in the same Prometheus series as HTTP requests: `liftoff_requests_total` and
`liftoff_request_duration_seconds` with route `grpc:<Method>`, method `gRPC` and the HTTP status the call's
code stands for, so the dashboard's error ratios, the latency panels and Triton's statistics read one set of
series whichever protocol a client speaks. Unary calls only: a health Watch stream's lifetime is no latency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from service.grpc import ROUTE_PREFIX
from service.metrics import Metrics
from service.middleware import UNMATCHED_ROUTE

METHOD = "gRPC"
SERVED = frozenset(
    {
        "ServerLive",
        "ServerReady",
        "ServerMetadata",
        "ModelReady",
        "ModelMetadata",
        "ModelInfer",
        "ModelConfig",
        "ModelStatistics",
        "Check",
    }
)
"""The unary methods Liftoff serves, each its own route label. Any other name (Triton's methods refused
UNIMPLEMENTED, whatever a client makes up) is `grpc:unmatched`, so a client cannot grow the label set."""
CLIENT_CLOSED = 499  # as service/middleware.py labels an HTTP client that went away
STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: CLIENT_CLOSED,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 503,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.UNIMPLEMENTED: 501,
}
"""A gRPC code as the HTTP status the REST route answers for the same outcome; anything else is a 500."""


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        # The counted handler per method and behavior (the servicer's, or the key check's refusal): grpc hands
        # the same ones every call, so wrapping each once saves building a handler per call.
        self._counted: dict[tuple[str, Any], grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        name = (details.method or "").rsplit("/", 1)[-1]
        if name not in SERVED:  # a refusal made for this call: counted, never kept
            return self._count(handler, ROUTE_PREFIX + UNMATCHED_ROUTE)
        key = (name, handler.unary_unary)
        counted = self._counted.get(key)
        if counted is None:
            counted = self._counted[key] = self._count(handler, ROUTE_PREFIX + name)
        return counted

    def _count(self, handler: grpc.RpcMethodHandler, route: str) -> grpc.RpcMethodHandler:
        behavior = handler.unary_unary
        metrics = self.metrics
        requests: dict[int, Any] = {}  # the labelled children per status, looked up once each
        seconds = metrics.request_seconds.labels(route=route)

        async def counted(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            status = 500
            metrics.in_flight.inc()
            try:
                answer = await behavior(request, context)
                status = STATUS.get(context.code() or grpc.StatusCode.OK, 500)
                return answer
            except asyncio.CancelledError:
                status = CLIENT_CLOSED
                raise
            except BaseException:
                status = STATUS.get(context.code() or grpc.StatusCode.UNKNOWN, 500)
                raise
            finally:
                metrics.in_flight.dec()
                child = requests.get(status)
                if child is None:
                    child = requests[status] = metrics.requests.labels(
                        route=route, method=METHOD, status=str(status)
                    )
                child.inc()
                seconds.observe(time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            counted,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
