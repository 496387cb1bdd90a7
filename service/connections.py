"""The connection guard: uvicorn's httptools protocol with the limits a server facing the network needs.

uvicorn alone waits for ever for a request's headers and body, takes headers of any size, and accepts
connections until the process runs out of file descriptors; then every request fails, readiness probes too
(a thousand silent connections do it at a common open-file limit). Here each connection is in one
phase, and the phases that wait on the client have a deadline:

    headers   from the connection (or the request's first byte) to the end of its headers: header timeout
    body      from the end of the headers to the end of the body: body timeout
    busy      the request is complete and the app is answering: the request timeout covers it; an answer
              the client stops reading (the socket's buffers full) has the send timeout
    idle      between keep-alive requests: uvicorn's keep-alive timeout covers it

A deadline missed answers 408 (or closes quietly when the client has sent nothing), a request head past
`max_header_bytes` or `max_header_count` answers 431 however its bytes were split into reads (and requests
pipelined in one read are each their own head), and all of it is counted in
`liftoff_connections_closed_total`. At the
connection cap a new connection takes the place of the connection that has waited longest on its client
(silent, trickling or idle), so probes and well-behaved clients keep being served while an attacker holds
the rest; only when every connection is busy does the newcomer get 503 + Retry-After.

Deadlines are checked by one sweep per process every `SWEEP_S`, not by a timer per request: a timer costs
each request two allocations, and a deadline a fraction of a second late changes nothing.
"""

from __future__ import annotations

import asyncio
import enum
import resource
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.api.errors import error_body
from service.metrics import Metrics
from service.middleware import BODY_TIMEOUT_FLAG

SWEEP_S = 0.25
FD_RESERVE = 128
"""File descriptors kept free below the open-file limit for what is not a client connection: the model's
files, the listening sockets, the thread pools' pipes, an over-the-cap client being told 503."""
GRPC_SHARE = 4
"""A quarter of the open files left for client connections may be gRPC's; the rest are HTTP's."""
METRICS_PORT_CONNECTIONS = 16
"""Connections the metrics port serves at once (service/metrics_port.py): Prometheus needs one or two."""
AT_CAPACITY_HEADER_TIMEOUT_S = 1.0
DRAIN_HEADER_TIMEOUT_S = 2.0
"""After SIGTERM, how long a connection accepted but not yet sent its request has to send it."""


class Phase(enum.Enum):
    HEADERS = "headers"
    BODY = "body"
    BUSY = "busy"
    IDLE = "idle"


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float
    body_timeout_s: float
    max_header_bytes: int
    max_connections: int
    max_header_count: int = 100
    send_timeout_s: float = 30.0


class _HeadTooLarge(Exception):
    """Raised from a parser callback: httptools stops parsing at once, before the request reaches the app."""


def _open_files_for_clients() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return soft - FD_RESERVE


def default_grpc_connections() -> int:
    """The gRPC listener's share of the open files (grpc.max_allowed_incoming_connections)."""
    return max(8, _open_files_for_clients() // GRPC_SHARE)


def default_max_connections() -> int:
    """The open-file limit less the reserve, the gRPC listener's share and the metrics port's cap: past it
    accept() fails and nothing can be answered at all, the probes included."""
    left = _open_files_for_clients() - default_grpc_connections() - METRICS_PORT_CONNECTIONS
    return max(16, left)


def raw_response(status: int, reason: str, message: str, extra: bytes = b"") -> bytes:
    """A whole JSON error response, for answers given outside the app (no request to hand it)."""
    body = error_body(message)
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
    ).encode()
    return head + extra + b"\r\n" + body


HEADER_TIMEOUT = raw_response(408, "Request Timeout", "the request's headers did not arrive in time")
BODY_TIMEOUT = raw_response(408, "Request Timeout", "the request body did not arrive in time")
RETRY = b"retry-after: 1\r\n"
EVICTED = raw_response(503, "Service Unavailable", "the server is at its connection limit; retry", RETRY)


class ConnectionGuard:
    """What one server process's connections share: the limits, the metrics and the deadline sweep."""

    def __init__(self, limits: ConnectionLimits, metrics: Metrics) -> None:
        self.limits = limits
        self.metrics = metrics
        self.connections: set[GuardedProtocol] = set()
        self._sweep: asyncio.TimerHandle | None = None
        self._closed = {reason: metrics.connections_closed.labels(reason=reason) for reason in CLOSE_REASONS}

    def protocol_class(self) -> type[GuardedProtocol]:
        """The protocol class to hand uvicorn (`Config(http=...)`), bound to this guard."""
        return type("GuardedProtocol", (GuardedProtocol,), {"guard": self})

    def closed(self, reason: str) -> None:
        self._closed[reason].inc()

    def opened(self, connection: GuardedProtocol) -> None:
        self.connections.add(connection)
        self.metrics.connections_open.set(len(self.connections))
        if self._sweep is None:
            self._sweep = connection.loop.call_later(SWEEP_S, self._check_deadlines, connection.loop)

    def lost(self, connection: GuardedProtocol) -> None:
        self.connections.discard(connection)
        self.metrics.connections_open.set(len(self.connections))

    def make_room(self, newcomer: GuardedProtocol) -> bool:
        """At the cap, close the connection that has waited longest on its client; False if none can go."""
        if len(self.connections) <= self.limits.max_connections:
            return True
        waiting = [c for c in self.connections if c is not newcomer and c.evictable()]
        if not waiting:
            return False
        min(waiting, key=lambda c: c.since).evict()
        return True

    def _check_deadlines(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for connection in list(self.connections):
            if connection.deadline is not None and connection.deadline <= now:
                connection.deadline_passed()
            elif connection.send_deadline is not None and connection.send_deadline <= now:
                connection.send_stalled()
        self._sweep = loop.call_later(SWEEP_S, self._check_deadlines, loop)


CLOSE_REASONS = (
    "header_timeout",
    "body_timeout",
    "header_too_large",
    "send_timeout",
    "evicted",
    "at_capacity",
)


class SingleWriteTransport:
    """The transport with every write of one event-loop turn sent as one: uvicorn writes a response's
    headers and its body in two sends, and a replica killed between them leaves the proxy holding headers
    it has already passed on, with no way to retry. One send leaves either nothing (the proxy retries on
    another replica) or the whole response in the kernel, which delivers it after the process is gone."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading, set_protocol...
        return getattr(self._transport, name)


class GuardedProtocol(HttpToolsProtocol):
    guard: ClassVar[ConnectionGuard]

    phase: Phase = Phase.HEADERS
    since: float = 0.0
    """When the current phase began: the longest-waiting connection is the first to give way at the cap."""
    deadline: float | None = None
    send_deadline: float | None = None
    """Set while the transport holds more than its high-water mark of unsent answer (the client is not
    reading): past it the connection is dropped, answered or not."""
    _head_bytes = 0
    _header_count = 0
    _trickled = 0
    _began_in_this_read = False
    _head_refused: str | None = None
    _received_any = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = cast(asyncio.Transport, SingleWriteTransport(transport, self.loop))
        guard = self.guard
        self._enter(Phase.HEADERS, guard.limits.header_timeout_s)
        guard.opened(self)
        if not guard.make_room(self):
            # Every connection is busy with a request: this one is told so once its request is read
            # (answering before reading it would have the kernel reset the connection under the answer).
            self.app = _at_capacity
            self.deadline = self.since + AT_CAPACITY_HEADER_TIMEOUT_S
            guard.closed("at_capacity")

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.lost(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._received_any = True
        self._began_in_this_read = False
        super().data_received(data)
        if self.phase is Phase.HEADERS and not self._began_in_this_read and not self.transport.is_closing():
            # A head still incomplete that began in an earlier read: this whole read is part of it. The
            # parser only reports a header once it is whole, so this is what stops one endless header.
            self._trickled += len(data)
            if self._trickled > self.guard.limits.max_header_bytes:
                self._refuse(self._too_large(self._size_message()), "header_too_large")

    def _size_message(self) -> str:
        return f"the request's headers are larger than {self.guard.limits.max_header_bytes} bytes"

    def _too_large(self, message: str) -> bytes:
        return raw_response(431, "Request Header Fields Too Large", message)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count_head(len(url), 0)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._count_head(len(name) + len(value) + 4, 1)  # ": " and CRLF

    def _count_head(self, size: int, headers: int) -> None:
        limits = self.guard.limits
        self._head_bytes += size
        self._header_count += headers
        if self._head_bytes > limits.max_header_bytes:
            self._head_refused = self._size_message()
        elif self._header_count > limits.max_header_count:
            self._head_refused = f"the request has more than {limits.max_header_count} headers"
        if self._head_refused is not None:
            raise _HeadTooLarge

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error, which is how a head refused from a callback ends."""
        if self._head_refused is None:
            super().send_400_response(msg)
        else:
            self._refuse(self._too_large(self._head_refused), "header_too_large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = self._header_count = self._trickled = 0
        self._began_in_this_read = True
        if self.phase is not Phase.HEADERS:
            self._enter(Phase.HEADERS, self.guard.limits.header_timeout_s)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.draining and self.cycle is not None:
            self.cycle.keep_alive = False  # answered with `Connection: close`
        self._enter(Phase.BODY, self.guard.limits.body_timeout_s)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._enter(Phase.BUSY, None)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.phase is Phase.BUSY and not self.pipeline:
            self._enter(Phase.IDLE, None)

    draining = False

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown, except that a connection whose request has not fully arrived is not
        idle: uvicorn closes it unanswered (a fresh connection from the accept queue, typically). It is
        answered, with `Connection: close`, once its request is in; only keep-alive idle ones close now."""
        if self.phase is Phase.IDLE:
            super().shutdown()
            return
        self.draining = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
        if self.phase is Phase.HEADERS and self.deadline is not None:
            self.deadline = min(self.deadline, self.loop.time() + DRAIN_HEADER_TIMEOUT_S)

    def pause_writing(self) -> None:
        super().pause_writing()
        self.send_deadline = self.loop.time() + self.guard.limits.send_timeout_s

    def resume_writing(self) -> None:
        super().resume_writing()
        self.send_deadline = None

    def send_stalled(self) -> None:
        self._refuse(b"", "send_timeout")

    def evictable(self) -> bool:
        """Waiting on the client, with nothing of the server's own under way (or an answer it stopped
        reading)."""
        if self.send_deadline is not None:
            return not self.transport.is_closing()
        if self.transport.is_closing() or self.app is _at_capacity:
            return False
        cycle = self.cycle
        if self.phase in (Phase.HEADERS, Phase.IDLE):
            return cycle is None or cycle.response_complete
        return self.phase is Phase.BODY and not cycle.response_started and not self.pipeline

    def evict(self) -> None:
        if self.phase is Phase.IDLE or not self._received_any:
            self._refuse(b"", "evicted")  # no request to answer: a quiet close, as a keep-alive timeout
        else:
            self._refuse(EVICTED, "evicted")

    def deadline_passed(self) -> None:
        if self.phase is Phase.HEADERS:
            self._refuse(HEADER_TIMEOUT if self._received_any else b"", "header_timeout")
        elif self.phase is Phase.BODY:
            self._refuse(BODY_TIMEOUT, "body_timeout")

    def _enter(self, phase: Phase, timeout_s: float | None) -> None:
        self.phase = phase
        self.since = self.loop.time()
        self.deadline = None if timeout_s is None else self.since + timeout_s

    def _refuse(self, response: bytes, reason: str) -> None:
        """Answer `response` (unless an answer is already under way) and close the connection."""
        self.deadline = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:
                response = b""
            cast(dict[str, Any], self.scope)[BODY_TIMEOUT_FLAG] = reason == "body_timeout"
            cycle.disconnected = True  # the app's receive() now says http.disconnect; its sends are dropped
            cycle.message_event.set()
        if self.send_deadline is not None:
            # The client reads nothing: a close would wait for the buffered answer to drain, for ever.
            self.send_deadline = None
            self.transport.abort()
        else:
            if response:
                self.transport.write(response)
            self.transport.close()
        self.guard.closed(reason)


async def _at_capacity(scope: Any, receive: Any, send: Any) -> None:
    """The app an over-the-cap connection gets instead of the server's."""
    body = error_body("the server is at its connection limit; retry")
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
