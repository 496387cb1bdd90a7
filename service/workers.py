"""`LIFTOFF_WORKERS` > 1 on CPU: that many server processes sharing one listening socket.

One Python process can use one core for HTTP and JSON (the GIL), so a small model on a multi-core machine
needs several processes. They are forked from a parent that has already imported torch and the app code but
has loaded no model and started no thread pool, so each worker starts in a fraction of the time a fresh
interpreter takes (uvicorn's own `--workers` spawns new interpreters that import everything again) and
shares the imported code's memory. Each worker loads its own model, runs its own batcher, and gets an equal
share of the cores for torch unless LIFTOFF_TORCH_THREADS says otherwise.

The parent only supervises: SIGTERM or SIGINT goes on to every worker (each drains as a single server does),
and a worker that dies while the server is not stopping is replaced. A `sidecar` (the metrics port's server,
service/metrics_port.py) is supervised the same way, and stopped only once the workers are gone, so that
their last counts can still be scraped while they drain.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType

from service.model.failure import MODEL_UNSERVABLE

log = logging.getLogger(__name__)

RESTART_BACKOFF_S = 1.0


def threads_per_worker(workers: int, requested: int) -> int:
    """Torch intra-op threads for each worker: the requested count, else an equal share of the cores."""
    if requested:
        return requested
    return max(1, (os.cpu_count() or 1) // workers)


def listening_socket(host: str, port: int, own: bool) -> socket.socket:
    """A socket listening on host:port. `own`: one per worker, in a SO_REUSEPORT group, so the kernel deals
    new connections out evenly; a shared socket lets whichever worker wakes first take them all (under a
    burst of keep-alive connections one worker got most of them and the other idled; measured in
    docs/benchmarks.md)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if own:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


SIDECAR = -1
"""The sidecar's index among the children."""


def run_workers(
    workers: int,
    bind: Callable[[], socket.socket],
    serve: Callable[[socket.socket, int], int],
    sidecar: Callable[[], int] | None = None,
    exited: Callable[[int], None] | None = None,
) -> int:
    """Fork `workers` processes that each run `serve(bind(), index)`, and one that runs `sidecar()` if
    given; supervise them until they all stop. `exited(index)` runs in the parent after a worker exits.

    With SO_REUSEPORT (Linux) each worker binds its own socket after the fork; elsewhere they share one."""
    shared = None if hasattr(socket, "SO_REUSEPORT") else bind()
    children: dict[int, int] = {}
    started: dict[int, float] = {}
    stopping = False

    def start(index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            # The sidecar outlives a Ctrl-C (sent to the whole process group) until the workers are gone.
            signal.signal(signal.SIGINT, signal.SIG_IGN if index == SIDECAR else signal.SIG_DFL)
            code = 1
            try:
                if index == SIDECAR and sidecar is not None:
                    code = sidecar()
                else:
                    code = serve(shared or bind(), index)
            except BaseException:
                log.exception("%s failed", _name(index))
            finally:
                os._exit(code)
        children[pid] = index
        started[index] = time.monotonic()

    def terminate(which: Callable[[int], bool]) -> None:
        for pid, index in list(children.items()):
            if which(index):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

    def stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        terminate(lambda index: index != SIDECAR)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if sidecar is not None:
        start(SIDECAR)
    for index in range(workers):
        start(index)
    failed = False
    unservable = False
    while children:
        if stopping and set(children.values()) == {SIDECAR}:  # the workers are gone
            terminate(lambda index: index == SIDECAR)
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if pid not in children:
            continue
        index = children.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if exited is not None and index != SIDECAR:
            exited(index)
        if stopping:
            failed |= code not in (0, -signal.SIGTERM)
            continue
        if code == MODEL_UNSERVABLE:  # a restart would fail the same way: stop, and say so by the status
            stopping = True
            terminate(lambda other: other != SIDECAR)
            unservable = True
            continue
        log.error("%s (pid %d) exited with %d; starting a new one", _name(index), pid, code)
        if time.monotonic() - started[index] < RESTART_BACKOFF_S:  # crashing at start: do not spin
            time.sleep(RESTART_BACKOFF_S)
            if stopping:
                continue
        start(index)
    if shared is not None:
        shared.close()
    return MODEL_UNSERVABLE if unservable else 1 if failed else 0


def _name(index: int) -> str:
    return "the metrics server" if index == SIDECAR else f"worker {index}"
