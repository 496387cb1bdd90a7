"""`python -m lab`: prints where it serves, over TLS with an API key by default (plain with --no-tls
--no-auth), and Ctrl-C or SIGTERM stops every process it started."""

from __future__ import annotations

import re
import signal
import ssl
import stat
import subprocess
import sys
import time
import urllib.error
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


def _get(url: str, context: ssl.SSLContext | None, key: str | None = None) -> tuple[int, str | None]:
    """Status and `X-Liftoff-Replica` of `GET url`; an HTTP error status is an answer, not an exception."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=5, context=context
        ) as r:
            return r.status, r.headers["X-Liftoff-Replica"]
    except urllib.error.HTTPError as error:
        return error.code, error.headers["X-Liftoff-Replica"]


@pytest.mark.parametrize(
    ("stop_signal", "flags"),
    [(signal.SIGINT, []), (signal.SIGTERM, ["--no-tls", "--no-auth"])],
    ids=["tls-and-key-by-default", "plain-with-no-tls-no-auth"],
)
def test_the_lab_serves_on_the_printed_url_and_a_signal_stops_every_process_it_started(
    stop_signal: signal.Signals, flags: list[str]
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "--replicas", "2", "--port", str(port), "--drain-timeout", "5", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = _read_banner(process, timeout_s=80.0)
        pids = [int(pid) for pid in re.findall(r"pid (\d+)", banner)]
        workdir = Path(re.search(r"files: (\S+)", banner).group(1))  # type: ignore[union-attr]
        assert len(pids) == 3, banner  # HAProxy and two replicas
        if flags:
            url, context, key = f"http://127.0.0.1:{port}", None, None
            assert not (workdir / "lab-cert.pem").exists() and not (workdir / "api-keys").exists()
        else:
            url = f"https://127.0.0.1:{port}"
            cert = workdir / "lab-cert.pem"
            # The client trusts the lab's certificate and nothing else; verification stays on.
            context = ssl.create_default_context(cafile=str(cert))
            key = (workdir / "api-keys").read_text().strip()
            assert f"--cacert {cert}" in banner and key in banner
            for secret in ("api-keys", "haproxy.pem"):
                assert stat.S_IMODE((workdir / secret).stat().st_mode) == 0o600, secret
            # The proxy speaks TLS only, and a client that does not trust the lab's certificate is refused.
            with pytest.raises(OSError):
                _get(f"http://127.0.0.1:{port}/readyz", None)
            with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
                _get(f"{url}/readyz", ssl.create_default_context())
            assert _get(f"{url}/v2/models/digits", context)[0] == 401
            assert _get(f"{url}/v2/models/digits", context, "lk_" + "0" * 43)[0] == 401
        assert f"{url} " in banner
        status, replica = _get(f"{url}/readyz", context)
        assert status == 200 and replica in ("replica-0", "replica-1")
        assert _get(f"{url}/v2/models/digits", context, key)[0] == 200

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
