"""Memory and CPU of a server: its whole process tree (workers, TorchServe's Java frontend and backends).

Peaks are kept per process: RSS counts the pages a process shares with its forked siblings (torch's
libraries, the parent's model copy) in full for each, so the tree's RSS sum overstates what the server
takes; PSS divides each shared page among the processes that map it, so per-process PSS sums to the tree's
real footprint. Both come from /proc/<pid>/smaps_rollup through psutil's memory_full_info().
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

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


@dataclass
class ProcessPeak:
    """The highest RSS and PSS one process of the tree reached while it was sampled."""

    pid: int
    name: str
    rss: int = 0
    pss: int = 0


def tree_memory(root_pid: int) -> dict[int, tuple[str, int, int]]:
    """{pid: (name, rss, pss)} for every live process of the tree, now."""
    found: dict[int, tuple[str, int, int]] = {}
    for process in _tree(root_pid):
        try:
            info = process.memory_full_info()
            found[process.pid] = (process.name(), info.rss, info.pss)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


class PeakMemory:
    """Samples the tree in a background thread: the highest summed RSS (`peak_mib`), and each process's
    highest RSS and PSS (`processes`), so a row can say what one worker takes."""

    def __init__(self, root_pid: int, interval_s: float = 0.25) -> None:
        self._root_pid = root_pid
        self._interval_s = interval_s
        self._peak = 0
        self._peak_pss = 0
        self.processes: dict[int, ProcessPeak] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def sample(self) -> None:
        now = tree_memory(self._root_pid)
        self._peak = max(self._peak, sum(rss for _, rss, _ in now.values()))
        self._peak_pss = max(self._peak_pss, sum(pss for _, _, pss in now.values()))
        for pid, (name, rss, pss) in now.items():
            peak = self.processes.setdefault(pid, ProcessPeak(pid, name))
            peak.rss, peak.pss = max(peak.rss, rss), max(peak.pss, pss)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.sample()

    @property
    def peak_mib(self) -> float:
        """The tree's highest summed RSS (shared pages counted once per process)."""
        return self._peak / 2**20

    @property
    def peak_pss_mib(self) -> float:
        """The tree's highest summed PSS: its real footprint, shared pages divided among their users."""
        return self._peak_pss / 2**20

    def workers(self) -> list[ProcessPeak]:
        """The processes that serve: the root's descendants when it has any (Liftoff's and uvicorn's
        supervisors fork workers, TorchServe's Java frontend starts Python backends), else the root."""
        children = [p for pid, p in self.processes.items() if pid != self._root_pid]
        return children or list(self.processes.values())

    def worker_peaks_mib(self) -> tuple[float, float]:
        """(RSS, PSS): the highest peak any one worker reached, each over all the workers."""
        workers = self.workers()
        return (
            max((p.rss for p in workers), default=0) / 2**20,
            max((p.pss for p in workers), default=0) / 2**20,
        )
