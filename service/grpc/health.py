"""The standard gRPC health service (grpc.health.v1.Health), answering from the server's readiness.

Check and Watch read `ServerState.ready` itself rather than a status table someone must keep in step:
SERVING once the model has loaded and warmed up, NOT_SERVING before that and from the moment a drain begins.
The server as a whole ("") and the inference service by name are known; any other name is NOT_FOUND on
Check and SERVICE_UNKNOWN on Watch, as the health protocol says (Watch then ends the stream rather than
hold it open for a name that will never appear). Like /readyz, it needs no API key: the
kubelet and load balancers that ask carry none (service/grpc/guard.py lets it through, and bounds the
Watch streams open at once).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.state import ServerState

SERVICE = "/grpc.health.v1.Health/"
INFERENCE = "inference.GRPCInferenceService"
KNOWN = frozenset({"", INFERENCE})
WATCH_PERIOD_S = 0.25
"""How often a Watch stream looks at readiness again: readiness changes twice in a server's life (loaded,
draining), so a quarter second of lag costs nothing and needs no hook into the loader or the drain."""

Status = health_pb2.HealthCheckResponse.ServingStatus


class ReadinessHealth(health_pb2_grpc.HealthServicer):
    def __init__(self, state: ServerState) -> None:
        self.state = state

    def status(self) -> Any:
        return Status.SERVING if self.state.ready else Status.NOT_SERVING

    async def Check(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if request.service not in KNOWN:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=self.status())

    async def Watch(self, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        if request.service not in KNOWN:
            yield health_pb2.HealthCheckResponse(status=Status.SERVICE_UNKNOWN)
            return
        sent = None
        while True:
            draining = self.state.draining  # read before the status, so NOT_SERVING is sent before the end
            now = self.status()
            if now != sent:
                yield health_pb2.HealthCheckResponse(status=now)
                sent = now
            if draining:  # NOT_SERVING is said; an open stream would hold the drain up
                return
            await asyncio.sleep(WATCH_PERIOD_S)


def add_to_server(state: ServerState, server: grpc.aio.Server) -> None:
    health_pb2_grpc.add_HealthServicer_to_server(ReadinessHealth(state), server)
