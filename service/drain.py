"""SIGTERM without dropping the connections the kernel has already accepted.

uvicorn's shutdown closes its listening sockets first. Connections that had completed their handshake but
were still in the kernel's accept queue are then reset, and the client, whose connect() had succeeded, sees
its request closed unanswered (3-5 per run of 16 clients opening fresh connections at the signal). Here,
before uvicorn's own shutdown:

1. Where the kernel lets this process attach a socket filter, each listening socket stops taking *new*
   connections while it stays open: the filter drops incoming SYNs (the client's kernel resends its SYN a
   second later, and by then finds the port closed: refused, which a client or proxy retries elsewhere), and
   the server keeps accepting until the queue stays empty.
2. Then, in every case, whatever is still queued is accepted in one synchronous pass and each listener stops
   listening right after its last accept(): shutdown(SHUT_RD) takes it out of the kernel's lookup at once
   (the event loop closes the descriptor in the same turn). This is what guards the drain where the filter
   is refused: some kernels refuse it to a process without privileges (EPERM in a Docker container here,
   even a privileged one), as the server may run in the cluster. The accepts and the shutdown are libc calls
   that keep the GIL (ctypes.PyDLL): Python's own socket.accept() lets other threads take the GIL at every
   call, and a thread that kept it for its switch interval held the listener open long enough for flooding
   clients to complete their handshakes and be reset. What can still slip
   in is a handshake completing in the microseconds between two system calls.

Each connection so accepted is then answered (service/connections.py holds its close until its request is
served, with `Connection: close`).
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import logging
import os
import socket
import struct
import time

import uvicorn

from service.settings import Settings

log = logging.getLogger(__name__)


def drain_deadline_s(settings: Settings) -> float:
    """From SIGTERM, how long every listener (HTTP, gRPC) waits for accepted requests: the drain timeout
    less a margin for what follows (cancelling the rest, the lifespan shutdown, exiting), which a busy
    machine can stretch to a second. One deadline for all, run side by side, so the process exits within
    LIFTOFF_DRAIN_TIMEOUT_S, which the pod's grace period exceeds."""
    return max(settings.drain_timeout_s - 2.0, settings.drain_timeout_s / 2)


SO_ATTACH_FILTER = 26
TCP_INFO = 11
TCPI_UNACKED_OFFSET = 24
"""`tcp_info.tcpi_unacked`, which for a listening socket is the accept queue's length (Linux)."""
QUEUE_EMPTY_FOR_S = 0.05
"""How long the queue must stay empty: handshakes under way when the filter went on complete in a round trip."""
MAX_QUEUE_WAIT_S = 2.0
SOCK_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)  # Linux's, as accept4() takes them
SOCK_CLOEXEC = getattr(socket, "SOCK_CLOEXEC", 0)

# Classic BPF, run on each packet for the listening socket with the TCP header at offset 0: drop a segment
# whose flags are SYN without ACK (a new connection), pass everything else (the handshake's last ACK).
_DROP_NEW_CONNECTIONS = b"".join(
    struct.pack("HBBI", *instruction)
    for instruction in (
        (0x30, 0, 0, 13),  # ldb [13]         the flags byte
        (0x54, 0, 0, 0x12),  # and #(SYN|ACK)
        (0x15, 0, 1, 0x02),  # jeq #SYN, drop, pass
        (0x06, 0, 0, 0),  # drop: ret #0
        (0x06, 0, 0, 0xFFFFFFFF),  # pass: ret #-1
    )
)


def stop_new_connections(sock: socket.socket) -> bool:
    """Attach the SYN-dropping filter; False where the platform refuses it."""
    program = ctypes.create_string_buffer(_DROP_NEW_CONNECTIONS)
    fprog = struct.pack("HP", len(_DROP_NEW_CONNECTIONS) // 8, ctypes.addressof(program))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    except OSError:
        return False
    return True


def accept_queue_length(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, 104)
    return int(struct.unpack_from("I", info, TCPI_UNACKED_OFFSET)[0])


class _GilHoldingLibc:
    """accept4() and shutdown() called through ctypes.PyDLL, which keeps the GIL across the call."""

    def __init__(self) -> None:
        libc = ctypes.PyDLL(None, use_errno=True)
        self.accept4 = libc.accept4  # AttributeError where libc has none (macOS)
        self.accept4.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        self.accept4.restype = ctypes.c_int
        self.shutdown = libc.shutdown
        self.shutdown.argtypes = [ctypes.c_int, ctypes.c_int]
        self.shutdown.restype = ctypes.c_int

    def take_all(self, listener: int) -> list[int]:
        """Accept every connection queued on `listener`, then stop it listening; no other thread runs
        between the last accept and the shutdown."""
        taken: list[int] = []
        while True:
            fd = self.accept4(listener, None, None, SOCK_NONBLOCK | SOCK_CLOEXEC)
            if fd >= 0:
                taken.append(fd)
                continue
            error = ctypes.get_errno()
            if error in (errno.EINTR, errno.ECONNABORTED):  # a signal; a client that reset while queued
                continue
            break
        self.shutdown(listener, socket.SHUT_RD)
        if error not in (errno.EAGAIN, errno.EWOULDBLOCK):  # out of file descriptors, typically
            log.warning(
                "could not accept every queued connection (%s): the rest are reset", os.strerror(error)
            )
        return taken


def _gil_holding_libc() -> _GilHoldingLibc | None:
    try:
        return _GilHoldingLibc()
    except (OSError, AttributeError):
        return None


_LIBC = _gil_holding_libc()


def take_queued_and_stop(listeners: list[socket.socket]) -> list[socket.socket]:
    """Accept every connection queued on the (non-blocking) listeners and stop each listening, in one
    stretch; the caller closes them right after. Without accept4 (off Linux), Python's accept() and the
    caller's close() do the same with a wider window."""
    if _LIBC is None:
        return [conn for sock in listeners for conn in _take_queued_python(sock)]
    time.sleep(0)  # a thread already waiting for the GIL takes its turn now, not inside the stretch
    fds = [fd for sock in listeners for fd in _LIBC.take_all(sock.fileno())]
    return [socket.socket(fileno=fd) for fd in fds]


def _take_queued_python(sock: socket.socket) -> list[socket.socket]:
    taken: list[socket.socket] = []
    while True:
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            return taken
        except OSError:  # out of file descriptors: what is left is reset at close, as uvicorn would
            log.warning("could not accept every queued connection before closing the listener")
            return taken
        conn.setblocking(False)
        taken.append(conn)


class DrainingServer(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        listeners = [
            socket.socket(fileno=sock.fileno()) for server in self.servers for sock in server.sockets
        ]
        accepted: list[socket.socket] = []
        try:
            if listeners and all(stop_new_connections(sock) for sock in listeners):
                await self._accept_what_is_queued(listeners)
            elif listeners:
                log.info(
                    "draining without the SYN filter (refused here): accepting what is queued, then closing"
                )
            for sock in listeners:
                sock.setblocking(False)
            accepted = take_queued_and_stop(listeners)
            for server in self.servers:
                server.close()  # in the same turn as the last accept(): see the module's docstring
        finally:
            for sock in listeners:
                sock.detach()  # the fd was asyncio's, and is closed by server.close()
        loop = asyncio.get_running_loop()
        for conn in accepted:
            await loop.connect_accepted_socket(self._new_protocol, conn)
        await super().shutdown(sockets)

    def _new_protocol(self) -> asyncio.Protocol:
        """A connection's protocol, built as uvicorn's startup builds it (which keeps its factory local, and
        uvloop's server does not expose it)."""
        config = self.config
        return config.http_protocol_class(  # type: ignore[call-arg]
            config=config, server_state=self.server_state, app_state=self.lifespan.state
        )

    async def _accept_what_is_queued(self, listeners: list[socket.socket]) -> None:
        """Let asyncio's accept loop take every queued connection before uvicorn closes the sockets."""
        give_up = time.monotonic() + MAX_QUEUE_WAIT_S
        empty_since: float | None = None
        while time.monotonic() < give_up:
            if sum(accept_queue_length(sock) for sock in listeners):
                empty_since = None
            elif empty_since is None:
                empty_since = time.monotonic()
            elif time.monotonic() - empty_since >= QUEUE_EMPTY_FOR_S:
                return
            await asyncio.sleep(0.005)
        log.warning("connections were still queued %.0f s after SIGTERM", MAX_QUEUE_WAIT_S)
