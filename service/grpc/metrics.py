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

METHOD = "gRPC"
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

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        behavior = handler.unary_unary
        route = ROUTE_PREFIX + (details.method or "").rsplit("/", 1)[-1]
        metrics = self.metrics

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
                metrics.requests.labels(route=route, method=METHOD, status=str(status)).inc()
                metrics.request_seconds.labels(route=route).observe(time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            counted,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
