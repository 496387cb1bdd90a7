"""Peak memory of a server: its whole process tree (workers, TorchServe's Java frontend and backends)."""

from __future__ import annotations

import threading

import psutil


def _tree(root_pid: int) -> list[psutil.Process]:
    """A process and all its descendants; empty once the process is gone."""
    try:
        root = psutil.Process(root_pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of a process and all its descendants (shared pages count once per process)."""
    total = 0
    for process in _tree(root_pid):
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU time (user + system) used so far by a process and its live descendants. Per request, it is the
    figure that stays comparable when other work shares the machine and wall-clock throughput does not."""
    total = 0.0
    for process in _tree(root_pid):
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += times.user + times.system
    return total


class PeakMemory:
    """Samples the tree's resident memory in a background thread; `peak_mib` is the highest seen."""

    def __init__(self, root_pid: int, interval_s: float = 0.25) -> None:
        self._root_pid = root_pid
        self._interval_s = interval_s
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, tree_rss_bytes(self._root_pid))
            self._stop.wait(self._interval_s)

    @property
    def peak_mib(self) -> float:
        return self._peak / 2**20
