"""The lab's TLS: a self-signed certificate for 127.0.0.1 and localhost, made at start with `openssl req`.

HAProxy terminates TLS with it (`bind ... ssl crt`, which wants the certificate and its key in one PEM file);
clients trust the certificate file itself, so verification stays on without a public CA. It lives in the
lab's run dir (mode 0700) for as long as the lab, the key in files of mode 0600, and is never reused.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

HOSTS = ("127.0.0.1", "localhost")
_DAYS = "2"
"""Valid for two days: long enough for any lab session, short enough that a copy left behind is soon useless."""


class CertificateError(RuntimeError):
    """openssl is missing or refused to make the certificate."""


@dataclass(frozen=True)
class LabCertificate:
    cert_path: Path
    """The certificate alone: what clients trust (`--cacert`, `ssl.create_default_context(cafile=...)`)."""
    haproxy_pem: Path
    """The certificate then its private key, mode 0600: what HAProxy's `bind ... ssl crt` reads."""

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate only and checks the host name, as any client should."""
        return ssl.create_default_context(cafile=str(self.cert_path))


def _write_private(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 from the first byte (no window in which another user could read it)."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def make_certificate(run_dir: Path) -> LabCertificate:
    """A fresh P-256 key and a self-signed certificate for `HOSTS` in `run_dir`."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CertificateError(
            "openssl not found: install it from the OS packages (Debian/Ubuntu: apt-get install openssl), "
            "or run the lab with --no-tls"
        )
    cert_path = run_dir / "lab-cert.pem"
    key_path = run_dir / "lab-key.pem"
    san = ",".join(f"IP:{host}" if host[0].isdigit() else f"DNS:{host}" for host in HOSTS)
    # openssl writes -keyout with mode 0600, inside a run dir of mode 0700; the key file is removed once
    # copied into HAProxy's PEM, which is created 0600 too.
    result = subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            _DAYS,
            "-subj",
            "/CN=Liftoff lab",
            "-addext",
            f"subjectAltName={san}",
            "-keyout",
            str(key_path),
            "-out",
            str(cert_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise CertificateError(f"openssl could not make the lab's certificate:\n{result.stderr.strip()}")
    try:
        _write_private(run_dir / "haproxy.pem", cert_path.read_bytes() + key_path.read_bytes())
    finally:
        key_path.unlink(missing_ok=True)
    cert_path.chmod(0o644)
    return LabCertificate(cert_path, run_dir / "haproxy.pem")
