"""The generated HAProxy configuration: valid to HAProxy itself, loopback only, health checks and retries."""

import re
import socket
import subprocess
import time
from pathlib import Path

from lab.ports import free_port
from lab.proxy import Upstream, find_haproxy, render_config
from lab.tls import make_certificate


def _config(tmp_path: Path) -> str:
    return render_config(18000, [Upstream("replica-0", 18001), Upstream("replica-1", 18002)], tmp_path)


def test_haproxy_accepts_the_generated_config(tmp_path: Path) -> None:
    path = tmp_path / "haproxy.cfg"
    path.write_text(_config(tmp_path))
    result = subprocess.run([find_haproxy(), "-c", "-f", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_everything_listens_and_connects_on_loopback_only(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert re.findall(r"^\s*bind (\S+)", config, re.MULTILINE) == ["127.0.0.1:18000"]
    assert re.findall(r"^\s*server (\S+) (\S+)", config, re.MULTILINE) == [
        ("replica-0", "127.0.0.1:18001"),
        ("replica-1", "127.0.0.1:18002"),
    ]
    assert str(tmp_path / "haproxy.sock") in config


def test_replicas_are_checked_on_readyz_and_failed_requests_retried_elsewhere(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert "option httpchk GET /readyz" in config
    retry_on = re.search(r"^\s*retry-on (.+)$", config, re.MULTILINE)
    assert retry_on is not None
    # Failures where the request never got an answer are retried; answers (a 500 bug, a 503 "full") are not.
    assert set(retry_on.group(1).split()) == {"conn-failure", "empty-response", "junk-response"}
    assert re.search(r"^\s*option redispatch 1$", config, re.MULTILINE)


def test_a_client_whose_headers_stop_gets_408_from_haproxy_without_reaching_a_replica(tmp_path: Path) -> None:
    """Slowloris at the proxy. Run with the request timeout cut to 1 s so the test is short."""
    port = free_port()
    config = render_config(port, [Upstream("replica-0", free_port())], tmp_path)
    assert "timeout http-request 10s" in config and "option http-buffer-request" in config
    path = tmp_path / "haproxy.cfg"
    path.write_text(config.replace("timeout http-request 10s", "timeout http-request 1s"))
    proxy = subprocess.Popen(
        [find_haproxy(), "-db", "-f", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "haproxy never listened"
                time.sleep(0.05)
        with sock:
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")  # then stalls
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


def test_with_a_certificate_haproxy_accepts_a_tls_only_bind_on_loopback(tmp_path: Path) -> None:
    certificate = make_certificate(tmp_path)
    config = render_config(18000, [Upstream("replica-0", 18001)], tmp_path, tls_pem=certificate.haproxy_pem)
    binds = re.findall(r"^\s*bind (.+)$", config, re.MULTILINE)
    assert binds == [f"127.0.0.1:18000 ssl crt {certificate.haproxy_pem} ssl-min-ver TLSv1.2 alpn http/1.1"]
    # The replicas are still checked and reached in plain HTTP on loopback; /readyz needs no key.
    assert "option httpchk GET /readyz" in config
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    result = subprocess.run([find_haproxy(), "-c", "-f", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
