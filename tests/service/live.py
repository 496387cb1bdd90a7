"""A real `python -m service` on 127.0.0.1 for tests that need sockets, signals or the process's limits: the
one helper that starts a server and waits for readiness, and the one `free_port` (lab/ports.py's)."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from lab.ports import free_port as free_port

REPO = Path(__file__).parents[2]


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self, timeout_s: float = 10.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout_s)

    def metric(self, line_start: str) -> float:
        """The value of the first /metrics sample line that starts with `line_start` (0 when absent)."""
        for line in httpx.get(self.base + "/metrics", timeout=10).text.splitlines():
            if line.startswith(line_start):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited: {self.log.read_text()}")
            try:
                if httpx.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server never became ready: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def spawn_server(
    folder: Path, open_files: int | None = None, default_grpc_port: bool = False, **env: str
) -> LiveServer:
    """Start a server (the bundled digits model unless LIFTOFF_MODEL_PATH is given) without waiting for it.
    `open_files`: the server's open-file limit, to run out of descriptors with a few hundred sockets;
    `default_grpc_port`: leave LIFTOFF_GRPC_PORT unset, so the server picks its own."""
    port = int(env.pop("LIFTOFF_PORT", 0)) or free_port()
    inherited = {k: v for k, v in os.environ.items() if not (default_grpc_port and k == "LIFTOFF_GRPC_PORT")}
    grpc = {} if default_grpc_port else {"LIFTOFF_GRPC_PORT": str(free_port())}
    log = folder / f"server-{port}.log"

    def limit_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service"],
            cwd=REPO,
            env={
                **inherited,
                "LIFTOFF_HOST": "127.0.0.1",
                "LIFTOFF_PORT": str(port),
                "LIFTOFF_TORCH_THREADS": "1",
                # A port known free: the default (LIFTOFF_PORT + 1) is not checked, and a port taken is
                # a start-up error.
                **grpc,
                **env,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_files,
        )
    return LiveServer(process, port, log)


def start_server(folder: Path, open_files: int | None = None, **env: str) -> LiveServer:
    """`spawn_server`, then wait until it is ready."""
    server = spawn_server(folder, open_files, False, **env)
    try:
        server.wait_ready()
    except AssertionError:
        server.stop()
        raise
    return server


def read_response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the socket's timeout ends it)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except TimeoutError:
        chunks.append(b"<no close before the timeout>")
    except ConnectionResetError:
        chunks.append(b"<reset>")
    return b"".join(chunks)


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 60.0) -> None:
    """Until something listens on 127.0.0.1:`port`; an AssertionError with `log`'s tail if `process` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the process exited early: {log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listened on {port} within {timeout_s} s: {log.read_text()[-3000:]}")
