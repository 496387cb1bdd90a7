"""The gRPC listener beside uvicorn's HTTP one: the servicer behind the call guard (keys, limits, metrics:
service/grpc/guard.py), the connection limits, and a drain that starts at SIGTERM with HTTP's and ends at the
same deadline."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import grpc

from service.auth import KeyStore
from service.connections import default_grpc_connections
from service.drain import drain_deadline_s
from service.grpc import health
from service.grpc.guard import UNAUTHENTICATED, CallGuard, CallLimits
from service.grpc.servicer import InferenceServicer, pb_grpc
from service.settings import Settings
from service.state import ServerState

__all__ = ["UNAUTHENTICATED", "Listener", "build_server"]

log = logging.getLogger(__name__)
RETIRE_GRACE_S = 1.0
"""How long the server opened before the model loaded may finish its calls once the model-sized one serves."""
STREAMS_PER_CONNECTION = 128
"""HTTP/2 streams one connection may have open: beyond it the client queues its calls, so no one connection
takes every call the server would run."""
DRAIN_POLL_S = 0.05


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
    limits = CallLimits(max_calls=settings.queue_limit, message_timeout_s=settings.body_timeout_s)
    server = grpc.aio.server(
        interceptors=[CallGuard(state.metrics, keys, limits)],
        options=server_options(settings, max_message_bytes or state.max_body_bytes),
    )
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceServicer(state), server)
    health.add_to_server(state, server)
    server.add_generic_rpc_handlers((TritonRefusals(),))
    port = server.add_insecure_port(address)
    return server, port


def server_options(settings: Settings, max_message_bytes: int) -> list[tuple[str, int]]:
    """grpc's limits on connections, as the HTTP side's connection guard sets them for HTTP."""
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_concurrent_streams", STREAMS_PER_CONNECTION),
        # Counted before the handshake, so silent sockets are refused at the cap too; the cap is the
        # gRPC share of the open files, leaving the rest to HTTP and the probes.
        ("grpc.max_allowed_incoming_connections", settings.max_connections or default_grpc_connections()),
        # A connection must finish its handshake in the header timeout, and one with no call open
        # closes (GOAWAY) after the keep-alive idle time; clients reconnect on their next call.
        ("grpc.server_handshake_timeout_ms", int(settings.header_timeout_s * 1000)),
        ("grpc.max_connection_idle_ms", int(settings.header_timeout_s * 1000)),
        # Dead peers are found by the server's own pings; clients that ping too often are cut off.
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.http2.max_ping_strikes", 2),
    ]


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
        self._drain: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Limit read, server built and hook registered in one turn of the loop: a model that finishes loading
        # meanwhile is either seen here or calls `fit`.
        self.limit = self.state.max_body_bytes
        self.server, self.port = build_server(self.state, self.keys, f"{self.host}:{self.port}", self.limit)
        self.state.before_ready.append(self.fit)
        await self.server.start()
        self._started.set()
        self._watch = asyncio.create_task(self._drain_at_sigterm(), name="liftoff-grpc-drain")

    async def _drain_at_sigterm(self) -> None:
        """At SIGTERM (readiness down), stop taking calls at once, as HTTP does, and give the accepted ones
        until the drain deadline the HTTP side has too."""
        # The SIGTERM handler sets a flag in the state (service/app.py), not an event this could wait on.
        while not self.state.draining:  # noqa: ASYNC110
            await asyncio.sleep(DRAIN_POLL_S)
        deadline = asyncio.get_running_loop().time() + drain_deadline_s(self.state.settings)
        self._drain = asyncio.create_task(self._stop_by(deadline))

    async def _stop_by(self, deadline: float) -> None:
        with contextlib.suppress(ValueError):
            self.state.before_ready.remove(self.fit)
        if self.server is not None:
            grace = max(0.0, deadline - asyncio.get_running_loop().time())
            await self.server.stop(grace=grace)

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
        """Stop by the drain begun at SIGTERM, or now with `grace` when no drain began (tests, lifespan)."""
        if self._watch is not None:
            self._watch.cancel()
        if self._drain is not None:
            await self._drain
            return
        await self._stop_by(asyncio.get_running_loop().time() + (grace or 0.0))
