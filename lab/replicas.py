"""One replica of the inference server: a `python -m service` process on its own loopback port."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

SERVER_COMMAND: tuple[str, ...] = (sys.executable, "-m", "service")
# Each replica gets one intra-op thread unless the user says otherwise: N replicas that each spawn one thread
# per core would fight over the same cores, and the lab is about replicas, not threads.
DEFAULT_REPLICA_ENV: Mapping[str, str] = {
    "LIFTOFF_TORCH_THREADS": "1",
    "LIFTOFF_LOG_LEVEL": "warning",
    # No gRPC unless asked for: the lab balances HTTP, and each replica's LIFTOFF_PORT + 1 is not known free.
    "LIFTOFF_GRPC_PORT": "0",
}


class ReplicaError(RuntimeError):
    """A replica failed to start or to become ready."""


def probe(port: int, path: str, timeout_s: float = 1.0) -> int | None:
    """Status of `GET path` on 127.0.0.1:port, or None when nothing answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


class Replica:
    """A server process named `replica_id`, listening on 127.0.0.1:`port`, its output in `log_path`."""

    def __init__(
        self,
        replica_id: str,
        port: int,
        log_path: Path,
        command: Sequence[str] = SERVER_COMMAND,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.replica_id = replica_id
        self.port = port
        self.log_path = log_path
        self.command = tuple(command)
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.generation = 0
        """How many times this slot's process was started: 1 after the first start."""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        """Start a fresh process; the previous one, if any, must have exited."""
        if self.alive():
            raise ReplicaError(f"{self.replica_id} is still running (pid {self.pid})")
        env = {**os.environ}
        for key, value in DEFAULT_REPLICA_ENV.items():
            env.setdefault(key, value)
        env.update(self.extra_env)
        # Loopback only, whatever the caller's environment says: the proxy is the one public door.
        env.update(
            {
                "LIFTOFF_HOST": "127.0.0.1",
                "LIFTOFF_PORT": str(self.port),
                "LIFTOFF_REPLICA_ID": self.replica_id,
            }
        )
        with self.log_path.open("ab") as log:
            # A new session: Ctrl-C in the lab's terminal reaches only the lab, which drains the replicas.
            self.process = subprocess.Popen(
                self.command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.generation += 1

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def ready(self) -> bool:
        return self.alive() and probe(self.port, "/readyz") == 200

    def wait_ready(self, timeout_s: float) -> None:
        """Block until /readyz answers 200; raise with the log's tail if the process dies or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise ReplicaError(
                    f"{self.replica_id} exited with code {self.exit_code()} before it was ready:\n"
                    + self.log_tail()
                )
            if probe(self.port, "/readyz", timeout_s=0.5) == 200:
                return
            time.sleep(0.1)
        raise ReplicaError(f"{self.replica_id} was not ready within {timeout_s:.0f} s:\n{self.log_tail()}")

    def terminate(self) -> None:
        """SIGTERM: the server fails readiness, finishes what it accepted, exits within its drain timeout."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: a crash, as far as everyone else can tell."""
        if self.alive():
            assert self.process is not None
            self.process.kill()

    def wait_exit(self, timeout_s: float) -> bool:
        """True when the process has exited within `timeout_s`."""
        if self.process is None:
            return True
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self, timeout_s: float) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout_s`."""
        self.terminate()
        if not self.wait_exit(timeout_s):
            self.kill()
            self.wait_exit(5.0)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
