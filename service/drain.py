"""SIGTERM without dropping the connections the kernel has already accepted (issue 20, item 7).

uvicorn's shutdown closes its listening sockets first. Connections that had completed their handshake but
were still in the kernel's accept queue are then reset, and the client, whose connect() had succeeded, sees
its request closed unanswered (3-5 per run of 16 clients opening fresh connections at the signal). Here,
before uvicorn's own shutdown:

1. Where the kernel lets this process attach a socket filter, each listening socket stops taking *new*
   connections while it stays open: the filter drops incoming SYNs (the client's kernel resends its SYN a
   second later, and by then finds the port closed: refused, which a client or proxy retries elsewhere), and
   the server keeps accepting until the queue stays empty.
2. Then, in every case, whatever is still queued is accepted in one synchronous pass and the listeners are
   closed in the same turn of the event loop, so nothing can join a queue between the last accept() and the
   close() but what completes its handshake in those few microseconds. This is what guards the drain where
   the filter is refused: some kernels refuse it to a process without privileges (seen in an unprivileged
   container: EPERM), as the server runs in the cluster.

Each connection so accepted is then answered (service/connections.py holds its close until its request is
served, with `Connection: close`).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import socket
import struct
import time

import uvicorn

log = logging.getLogger(__name__)

SO_ATTACH_FILTER = 26
TCP_INFO = 11
TCPI_UNACKED_OFFSET = 24
"""`tcp_info.tcpi_unacked`, which for a listening socket is the accept queue's length (Linux)."""
QUEUE_EMPTY_FOR_S = 0.05
"""How long the queue must stay empty: handshakes under way when the filter went on complete in a round trip."""
MAX_QUEUE_WAIT_S = 2.0

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


def take_queued(sock: socket.socket) -> list[socket.socket]:
    """Accept every connection in a non-blocking listener's queue, now."""
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
                log.info("draining without the SYN filter (refused here); closing listeners as they empty")
            for sock in listeners:
                sock.setblocking(False)
                accepted.extend(take_queued(sock))
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
