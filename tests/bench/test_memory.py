"""Per-worker memory is sampled from the real processes of a server's tree, RSS and PSS each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bench.memory import PeakMemory, ProcessPeak

# A "server" that forks one "worker"; the worker touches 64 MiB it alone owns, says so, then waits.
TREE = """
import os, sys, time
if os.fork() == 0:
    held = bytearray(64 * 2**20)
    for i in range(0, len(held), 4096):
        held[i] = 1
    print("ready", flush=True)
    time.sleep(30)
    os._exit(0)
time.sleep(30)
"""


@pytest.mark.slow
def test_a_workers_own_memory_is_its_peak_rss_and_pss_and_the_supervisor_is_not_a_worker() -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with PeakMemory(server.pid, interval_s=0.05) as memory:
            time.sleep(0.2)
        workers = memory.workers()
        assert [w.pid for w in workers] != [server.pid] and len(workers) == 1
        rss, pss = memory.worker_peaks_mib()
        # The 64 MiB is the worker's alone, so its PSS holds all of it; the interpreter's pages it shares with
        # its parent since the fork count in full in RSS and half in PSS.
        assert 64 <= pss < rss < 64 + 64
        supervisor = memory.processes[server.pid]
        assert supervisor.rss < 64 * 2**20
        assert memory.peak_pss_mib == pytest.approx((supervisor.pss + workers[0].pss) / 2**20, rel=0.1)
        assert memory.peak_mib > memory.peak_pss_mib
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # the worker too
        server.wait()


def test_a_process_without_children_is_its_own_worker() -> None:
    memory = PeakMemory(42)  # never entered: no process is needed to decide who counts as a worker
    memory.processes = {42: ProcessPeak(42, "server", rss=10, pss=5)}
    assert [w.pid for w in memory.workers()] == [42]
