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
from lab.tls import LabCertificate, make_certificate

_ECHO_CONFIG = """\
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend echo
    bind 127.0.0.1:{port}{tls}
{auth}    http-request return status 503 hdr Retry-After 1 if {{ path /full }}
    http-request return status 200 content-type application/json string "{{}}" hdr X-Liftoff-Replica echo
"""


@contextlib.contextmanager
def echo_server(certificate: LabCertificate | None = None, api_key: str | None = None) -> Iterator[str]:
    """An HAProxy on 127.0.0.1 that answers 200 (503 + Retry-After on /full) at next to no cost per request;
    over TLS with `certificate`, and 401 to a request without `Authorization: Bearer <api_key>` when given."""
    port = free_port()
    tls = f" ssl crt {certificate.haproxy_pem} alpn http/1.1" if certificate is not None else ""
    auth = (
        f'    http-request return status 401 if !{{ req.hdr(authorization) -m str "Bearer {api_key}" }}\n'
        if api_key
        else ""
    )
    with tempfile.TemporaryDirectory(prefix="liftoff-echo-") as workdir:
        config = Path(workdir) / "haproxy.cfg"
        config.write_text(_ECHO_CONFIG.format(port=port, tls=tls, auth=auth))
        process = subprocess.Popen([find_haproxy(), "-db", "-f", str(config)], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                time.sleep(0.05)
            yield f"{'https' if certificate is not None else 'http'}://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=5.0)


def measure(users: int, seconds: float, tls: bool = False) -> tuple[LoadReport, float]:
    """The report and the generator's CPU seconds (user + system) for the run; over TLS with `tls`."""
    with tempfile.TemporaryDirectory(prefix="liftoff-echo-tls-") as run_dir:
        certificate = make_certificate(Path(run_dir)) if tls else None
        context = certificate.client_context() if certificate is not None else None
        with echo_server(certificate) as url:
            request = inference_request(url, tls=context)
            cpu_before = time.process_time()
            report = run_fast(run_load(LoadSpec(url, request, steady(users, seconds))))
            return report, time.process_time() - cpu_before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.loadtest.generator_ceiling", description=__doc__)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--tls", action="store_true", help="over TLS, as the lab's clients speak by default")
    args = parser.parse_args(argv)
    report, cpu_s = measure(args.users, args.duration, args.tls)
    print(report.format())
    per_request_us = 1e6 * cpu_s / max(1, report.sent)
    print(
        f"generator CPU: {cpu_s:.2f} s for {report.sent} requests = {per_request_us:.0f} us per request, "
        f"a ceiling of about {1e6 / per_request_us:.0f} req/s per core"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
