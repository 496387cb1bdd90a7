"""The drain's last step (service/drain.py): every connection already queued is taken, and the listener
stops taking new ones while its descriptor is still open (the event loop closes it afterwards)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from service import drain


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0), backlog=64)
    sock.setblocking(False)
    with sock:
        yield sock


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


@pytest.mark.parametrize("gil_holding", [True, False], ids=["libc", "python-fallback"])
def test_queued_connections_are_taken_and_the_listener_stops(
    listener: socket.socket, gil_holding: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if gil_holding:
        assert drain._LIBC is not None, "accept4 through ctypes is what Linux servers use"
    else:
        monkeypatch.setattr(drain, "_LIBC", None)
    port = listener.getsockname()[1]
    with ExitStack() as stack:
        clients = [stack.enter_context(connect(port)) for _ in range(5)]
        taken = [stack.enter_context(conn) for conn in drain.take_queued_and_stop([listener])]
        assert len(taken) == len(clients)
        for index, client in enumerate(clients):  # each is a live connection, in the order queued
            client.sendall(b"request %d" % index)
        for index, conn in enumerate(taken):
            conn.setblocking(True)
            assert conn.recv(64) == b"request %d" % index
        if gil_holding:  # refused at once, though the listener's descriptor is still open
            with pytest.raises(ConnectionRefusedError):
                connect(port)
            assert listener.fileno() != -1


def test_an_empty_queue_gives_nothing(listener: socket.socket) -> None:
    assert drain.take_queued_and_stop([listener]) == []
