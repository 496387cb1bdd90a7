"""`python -m lab.loadtest.generator_ceiling`: how fast the load generator itself can go on this machine.

It drives an HAProxy that answers every request by itself (no server behind it), so the figures are the
generator's own ceiling: if it is far above what the lab's replicas serve, the generator is not the bottleneck.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from lab.loadtest.digit_requests import inference_request
from lab.loadtest.profiles import steady
from lab.loadtest.results import LoadReport
from lab.loadtest.runner import LoadSpec, run_fast, run_load
from lab.ports import free_port
from lab.proxy import find_haproxy

_ECHO_CONFIG = """\
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend echo
    bind 127.0.0.1:{port}
    http-request return status 503 hdr Retry-After 1 if {{ path /full }}
    http-request return status 200 content-type application/json string "{{}}" hdr X-Liftoff-Replica echo
"""


@contextlib.contextmanager
def echo_server() -> Iterator[str]:
    """An HAProxy on 127.0.0.1 that answers 200 (503 + Retry-After on /full) at next to no cost per request."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="liftoff-echo-") as workdir:
        config = Path(workdir) / "haproxy.cfg"
        config.write_text(_ECHO_CONFIG.format(port=port))
        process = subprocess.Popen([find_haproxy(), "-db", "-f", str(config)], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=5.0)


def measure(users: int, seconds: float) -> tuple[LoadReport, float]:
    """The report and the generator's CPU seconds (user + system) for the run."""
    with echo_server() as url:
        cpu_before = time.process_time()
        report = run_fast(run_load(LoadSpec(url, inference_request(url), steady(users, seconds))))
        return report, time.process_time() - cpu_before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.loadtest.generator_ceiling", description=__doc__)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args(argv)
    report, cpu_s = measure(args.users, args.duration)
    print(report.format())
    per_request_us = 1e6 * cpu_s / max(1, report.sent)
    print(
        f"generator CPU: {cpu_s:.2f} s for {report.sent} requests = {per_request_us:.0f} us per request, "
        f"a ceiling of about {1e6 / per_request_us:.0f} req/s per core"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
