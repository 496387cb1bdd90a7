"""The gRPC listener beside uvicorn's HTTP one: the servicer, API keys as `authorization` metadata, a cap on
concurrent RPCs, and a graceful stop that lets accepted calls finish (SIGTERM drain)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from service.auth import KeyStore
from service.grpc import health
from service.grpc.metrics import MetricsInterceptor
from service.grpc.servicer import InferenceServicer, pb_grpc
from service.state import ServerState

log = logging.getLogger(__name__)
RETIRE_GRACE_S = 1.0
"""How long the server opened before the model loaded may finish its calls once the model-sized one serves."""
UNAUTHENTICATED = "this server needs an API key: send metadata `authorization: Bearer <key>`"


class KeyInterceptor(grpc.aio.ServerInterceptor):
    """Refuses a call without a configured key, before its request is read, with the REST 401's meaning.
    The health service stays open, as /readyz does: the kubelet and load balancers carry no key."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

        async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED)

        self._refusal = grpc.unary_unary_rpc_method_handler(refuse)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        if (details.method or "").startswith(health.SERVICE):
            return await continuation(details)
        metadata = dict(details.invocation_metadata or ())
        header = metadata.get("authorization")
        if self.keys.accepts_authorization(header if isinstance(header, str) else None):
            return await continuation(details)
        return self._refusal


SERVICE = "/inference.GRPCInferenceService/"


class TritonRefusals(grpc.GenericRpcHandler):
    """Triton's other methods of the same service (RepositoryIndex, shared memory, ...) answer UNIMPLEMENTED
    with a message, not grpc's bare "Method not found!". Registered after the servicer, so it only sees the
    methods the servicer does not have."""

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = details.method or ""
        if not method.startswith(SERVICE):
            return None
        name = method.removeprefix(SERVICE)

        async def refuse(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            await context.abort(
                grpc.StatusCode.UNIMPLEMENTED,
                f"Liftoff does not implement {name} over gRPC (docs/protocols.md lists what it serves)",
            )
            return b""

        return grpc.unary_unary_rpc_method_handler(refuse)


def build_server(
    state: ServerState, keys: KeyStore, address: str, max_message_bytes: int | None = None
) -> tuple[grpc.aio.Server, int]:
    """A server ready to `.start()`, bound to `address`; the port it got (for `:0`). `max_message_bytes`:
    the largest request it reads, by default the body limit now (service/body_limit.py)."""
    settings = state.settings
    # Metrics outermost, so a call the key check refuses is counted as the REST 401 is.
    interceptors: list[grpc.aio.ServerInterceptor] = [MetricsInterceptor(state.metrics)]
    if keys.enabled:
        interceptors.append(KeyInterceptor(keys))
    server = grpc.aio.server(
        interceptors=interceptors,
        # Calls beyond this are refused RESOURCE_EXHAUSTED by grpc itself: the batcher's queue limit in rows
        # bounds the work, this bounds the calls waiting to be decoded.
        maximum_concurrent_rpcs=settings.queue_limit,
        options=[("grpc.max_receive_message_length", max_message_bytes or state.max_body_bytes)],
    )
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceServicer(state), server)
    health.add_to_server(state, server)
    server.add_generic_rpc_handlers((TritonRefusals(),))
    port = server.add_insecure_port(address)
    return server, port


class Listener:
    """The gRPC listener for an app's lifetime, with the message limit the model sets.

    grpc fixes a server's message limit when it is built, and the listener opens before the model has loaded
    (so ServerLive, ServerReady and the health service answer meanwhile), when only the fallback limit is
    known. Once the model has loaded, and before readiness turns true (`ServerState.before_ready`), a second
    server with the model's limit binds the same port (grpc sets SO_REUSEPORT) and the first one stops: it
    takes no new connection, finishes what it accepted, and its clients reconnect to the second. Traffic that
    waits for readiness (a Service's endpoints, a load balancer) never meets the swap. With
    LIFTOFF_MAX_BODY_BYTES set, the limit is known at once: no swap.
    """

    def __init__(self, state: ServerState, keys: KeyStore, host: str, port: int) -> None:
        self.state, self.keys, self.host = state, keys, host
        self.port = port
        self.server: grpc.aio.Server | None = None
        self.limit = 0
        self._started = asyncio.Event()

    async def start(self) -> None:
        # Limit read, server built and hook registered in one turn of the loop: a model that finishes loading
        # meanwhile is either seen here or calls `fit`.
        self.limit = self.state.max_body_bytes
        self.server, self.port = build_server(self.state, self.keys, f"{self.host}:{self.port}", self.limit)
        self.state.before_ready.append(self.fit)
        await self.server.start()
        self._started.set()

    async def fit(self, limit: int) -> None:
        """Serve with message limit `limit` from now on. The first server gets RETIRE_GRACE_S to finish its
        calls (a health Watch stream runs until cancelled): readiness waits that long at most."""
        await self._started.wait()
        if limit == self.limit:
            return
        try:
            sized, _ = build_server(self.state, self.keys, f"{self.host}:{self.port}", limit)
            await sized.start()
        except RuntimeError as exc:  # grpc could not bind the port again: keep serving with the first
            log.error("gRPC keeps the fallback message limit: %s", exc)
            return
        previous, self.server, self.limit = self.server, sized, limit
        log.info("gRPC messages are capped at %d bytes, the model's body limit", limit)
        if previous is not None:
            await previous.stop(grace=RETIRE_GRACE_S)

    async def stop(self, grace: float | None) -> None:
        with contextlib.suppress(ValueError):
            self.state.before_ready.remove(self.fit)
        if self.server is not None:
            await self.server.stop(grace=grace)
