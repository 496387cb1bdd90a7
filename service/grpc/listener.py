"""The gRPC listener beside uvicorn's HTTP one: the servicer, API keys as `authorization` metadata, a cap on
concurrent RPCs, and a graceful stop that lets accepted calls finish (SIGTERM drain)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from service.auth import KeyStore
from service.grpc import health
from service.grpc.servicer import InferenceServicer, pb_grpc
from service.state import ServerState

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
    """Triton's other methods of the same service (ModelConfig, ModelStatistics, RepositoryIndex, shared
    memory, ...) answer UNIMPLEMENTED with a message, not grpc's bare "Method not found!". Registered after
    the servicer, so it only sees the methods the servicer does not have."""

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = details.method or ""
        if not method.startswith(SERVICE):
            return None
        name = method.removeprefix(SERVICE)

        async def refuse(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            await context.abort(
                grpc.StatusCode.UNIMPLEMENTED,
                f"Liftoff does not implement {name} over gRPC (docs/protocols.md lists what it serves; "
                "model config and statistics are on REST: /v2/models/{name}/config and /stats)",
            )
            return b""

        return grpc.unary_unary_rpc_method_handler(refuse)


def build_server(state: ServerState, keys: KeyStore, address: str) -> tuple[grpc.aio.Server, int]:
    """A started-ready server (call `.start()`), bound to `address`; the port it got (for `:0`)."""
    settings = state.settings
    interceptors = [KeyInterceptor(keys)] if keys.enabled else []
    server = grpc.aio.server(
        interceptors=interceptors,
        # Calls beyond this are refused RESOURCE_EXHAUSTED by grpc itself: the batcher's queue limit in rows
        # bounds the work, this bounds the calls waiting to be decoded.
        maximum_concurrent_rpcs=settings.queue_limit,
        options=[("grpc.max_receive_message_length", state.max_body_bytes)],
    )
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceServicer(state), server)
    health.add_to_server(state, server)
    server.add_generic_rpc_handlers((TritonRefusals(),))
    port = server.add_insecure_port(address)
    return server, port
