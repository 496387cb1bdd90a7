"""`python -m lab`: prints where it serves, and Ctrl-C or SIGTERM stops every process it started."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from lab.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def _read_banner(process: subprocess.Popen[str], timeout_s: float) -> str:
    """Everything the lab prints up to the line that says how to stop it."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "stops everything" in line:
            return "".join(lines)
    raise AssertionError("the lab printed no banner:\n" + "".join(lines))


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_the_lab_serves_on_the_printed_url_and_a_signal_stops_every_process_it_started(
    stop_signal: signal.Signals,
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "--replicas", "2", "--port", str(port), "--drain-timeout", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = _read_banner(process, timeout_s=80.0)
        assert f"http://127.0.0.1:{port}" in banner
        pids = [int(pid) for pid in re.findall(r"pid (\d+)", banner)]
        workdir = Path(re.search(r"files: (\S+)", banner).group(1))  # type: ignore[union-attr]
        assert len(pids) == 3, banner  # HAProxy and two replicas
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            assert response.status == 200
            assert response.headers["X-Liftoff-Replica"] in ("replica-0", "replica-1")

        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0
        assert [pid for pid in pids if _running(pid)] == []
        assert not workdir.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize(
    ("arguments", "named"), [(["--replicas", "0"], "replicas"), (["--port", "70000"], "port")]
)
def test_a_bad_lab_setting_stops_it_with_a_message_naming_it(arguments: list[str], named: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lab", *arguments], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert named in result.stderr
