"""Whether the gRPC port is free, asked once before any of a server's listeners bind it.

grpc binds with SO_REUSEPORT, which the listener needs (each worker binds the port, and the model-sized
server binds it beside the first; service/grpc/listener.py). The kernel lets any process of the same user
join such a group, so a second server started on the same port would silently take a share of the first
one's new connections. A probe without SO_REUSEPORT conflicts with every listener on the port, so asking
it once, before the server's own listeners exist, tells a foreign listener apart from our own.
"""

from __future__ import annotations

import errno
import socket


def taken_by(host: str, port: int) -> str | None:
    """Why `host:port` cannot be the gRPC port (another process listens there), or None when it is free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: connections of a previous run in TIME_WAIT do not count, a listener does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"another process already listens on {host}:{port}"
            return f"{host}:{port} cannot be bound: {exc.strerror}"
    return None
