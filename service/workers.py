"""`LIFTOFF_WORKERS` > 1 on CPU: that many server processes sharing one listening socket.

One Python process can use one core for HTTP and JSON (the GIL), so a small model on a multi-core machine
needs several processes. They are forked from a parent that has already imported torch and the app code but
has loaded no model and started no thread pool, so each worker starts in a fraction of the time a fresh
interpreter takes (uvicorn's own `--workers` spawns new interpreters that import everything again) and
shares the imported code's memory. Each worker loads its own model, runs its own batcher, and gets an equal
share of the cores for torch unless LIFTOFF_TORCH_THREADS says otherwise.

The parent only supervises: SIGTERM or SIGINT goes on to every worker (each drains as a single server does),
and a worker that dies while the server is not stopping is replaced.
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

log = logging.getLogger(__name__)

RESTART_BACKOFF_S = 1.0


def threads_per_worker(workers: int, requested: int) -> int:
    """Torch intra-op threads for each worker: the requested count, else an equal share of the cores."""
    if requested:
        return requested
    return max(1, (os.cpu_count() or 1) // workers)


def run_workers(workers: int, sock: socket.socket, serve: Callable[[socket.socket, int], int]) -> int:
    """Fork `workers` processes that each run `serve(sock, index)`; supervise them until they all stop."""
    children: dict[int, int] = {}
    started: dict[int, float] = {}
    stopping = False

    def start(index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 1
            try:
                code = serve(sock, index)
            except BaseException:
                log.exception("worker %d failed", index)
            finally:
                os._exit(code)
        children[pid] = index
        started[index] = time.monotonic()

    def stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(workers):
        start(index)
    failed = False
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if pid not in children:
            continue
        index = children.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if stopping:
            failed |= code not in (0, -signal.SIGTERM)
            continue
        log.error("worker %d (pid %d) exited with %d; starting a new one", index, pid, code)
        if time.monotonic() - started[index] < RESTART_BACKOFF_S:  # crashing at start: do not spin
            time.sleep(RESTART_BACKOFF_S)
            if stopping:
                continue
        start(index)
    sock.close()
    return 1 if failed else 0
