"""API keys: `Authorization: Bearer <key>` on every route but the probes, the metrics and the API docs.

Keys come from `LIFTOFF_API_KEYS` (comma or newline separated) and `LIFTOFF_API_KEYS_FILE` (one key a line,
`#` comments allowed). The file is re-read when it changes (checked at most once a second), so a key rotates
by rewriting the file, or by updating the Kubernetes Secret it is mounted from, without a restart.

Only SHA-256 digests of the keys are kept, and a presented key is compared with every one of them with
`hmac.compare_digest`, so neither the time taken nor the answer says which keys exist or how long they are.
A key never reaches a log line, a metric label or a response body.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.errors import JSON, error_body

log = logging.getLogger(__name__)

# What stays open without a key: the probes (the kubelet and load balancers carry no key), the metrics
# (kept inside the cluster by a NetworkPolicy instead) and the API's own description.
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/v2/health/live",
        "/v2/health/ready",
        "/ping",
        "/metrics",
        "/docs",
        "/docs/oauth2-redirect",
        "/openapi.json",
    }
)
RELOAD_INTERVAL_S = 1.0
UNAUTHORIZED = "a valid API key is required: send it as 'Authorization: Bearer <key>'"


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith("/docs/")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def parse_keys(text: str) -> list[str]:
    """Keys from a file's or a variable's text: one per line or comma, blanks and `#` comments skipped."""
    keys = []
    for line in text.replace(",", "\n").splitlines():
        key = line.split("#", 1)[0].strip()
        if key:
            keys.append(key)
    return keys


class KeyStore:
    """The keys in force. `enabled` is False only when no key source is configured at all: a key file
    that is configured but empty or unreadable refuses every request rather than opening the server."""

    def __init__(self, keys: Iterable[str] = (), keys_file: Path | None = None) -> None:
        self._static = [_digest(key) for key in keys]
        self._file = keys_file
        self._file_digests: list[bytes] = []
        self._file_stamp: tuple[int, int, int] | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()
        self.enabled = bool(self._static) or keys_file is not None
        if keys_file is not None:
            self._reload(force=True)

    def _reload(self, force: bool = False) -> None:
        assert self._file is not None
        try:
            info = os.stat(self._file)  # follows the symlinks a mounted Secret swaps on update
            stamp = (info.st_mtime_ns, info.st_ino, info.st_size)
            if not force and stamp == self._file_stamp:
                return
            keys = parse_keys(self._file.read_text())
        except OSError as exc:
            if self._file_digests or force:
                log.error("the API key file cannot be read (%s); every request is refused", exc.strerror)
            self._file_digests, self._file_stamp = [], None
            return
        self._file_digests, self._file_stamp = [_digest(key) for key in keys], stamp
        if not keys:
            log.warning("the API key file holds no key; every request is refused")
        else:
            log.info("API keys loaded: %d key(s) from the key file", len(keys))

    def _digests(self) -> list[bytes]:
        if self._file is not None:
            now = time.monotonic()
            if now >= self._next_check:
                with self._lock:
                    if now >= self._next_check:
                        self._reload()
                        self._next_check = now + RELOAD_INTERVAL_S
        return self._static + self._file_digests

    def accepts(self, key: str | None) -> bool:
        """True for a configured key; compares against every key so the time says nothing."""
        if key is None:
            return False
        presented = _digest(key)
        matched = False
        for digest in self._digests():
            matched |= hmac.compare_digest(presented, digest)
        return matched

    def accepts_authorization(self, header: str | None) -> bool:
        """An `Authorization` value (HTTP header or gRPC metadata): `Bearer <key>`, scheme case-insensitive."""
        if header is None:
            return False
        scheme, _, key = header.strip().partition(" ")
        return scheme.lower() == "bearer" and self.accepts(key.strip() or None)


class AuthMiddleware:
    """Answers 401 with `WWW-Authenticate: Bearer` unless the request carries a configured key."""

    def __init__(self, app: ASGIApp, keys: KeyStore) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys.enabled or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        if self.keys.accepts_authorization(header):
            await self.app(scope, receive, send)
            return
        body = error_body(UNAUTHORIZED)
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="liftoff"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
