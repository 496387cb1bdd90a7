"""The lab's certificate and key file: private files, a certificate clients can verify, atomic key updates."""

import ssl
import stat
import subprocess
from pathlib import Path

import pytest

from lab.api_keys import new_key, read_key, write_keys
from lab.tls import make_certificate


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_certificate_names_loopback_and_its_private_key_is_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    certificate = make_certificate(tmp_path)
    assert _mode(certificate.haproxy_pem) == 0o600
    pem = certificate.haproxy_pem.read_text()
    assert "BEGIN CERTIFICATE" in pem and "PRIVATE KEY" in pem
    # No loose copy of the private key is left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["haproxy.pem", "lab-cert.pem"]
    assert "PRIVATE KEY" not in certificate.cert_path.read_text()
    shown = subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(certificate.cert_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "IP Address:127.0.0.1" in shown and "DNS:localhost" in shown
    context = certificate.client_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_each_lab_gets_a_fresh_key_written_private_and_replaced_whole(tmp_path: Path) -> None:
    first, second = new_key(), new_key()
    assert first != second and first.startswith("lk_") and len(first) >= 40
    path = tmp_path / "api-keys"
    write_keys(path, [first])
    assert _mode(path) == 0o600 and read_key(path) == first
    inode = path.stat().st_ino
    write_keys(path, [second, first])
    # A rename, not an edit in place: a reader sees the old file or the new one, never half of one.
    assert path.stat().st_ino != inode
    assert path.read_text() == f"{second}\n{first}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["api-keys"]


def test_a_key_file_without_a_key_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("# nothing yet\n")
    with pytest.raises(ValueError, match="api key file"):
        read_key(path)
