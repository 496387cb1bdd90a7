"""The generated HAProxy configuration: valid to HAProxy itself, loopback only, health checks and retries."""

import re
import subprocess
from pathlib import Path

from lab.proxy import Upstream, find_haproxy, render_config


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
