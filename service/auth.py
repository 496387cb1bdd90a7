"""API keys: `Authorization: Bearer <key>` on every route but the probes, the metrics and the API docs.

Keys come from `LIFTOFF_API_KEYS` (comma or newline separated) and `LIFTOFF_API_KEYS_FILE` (one key a line,
lines starting with `#` are comments); what a key may hold is service/keys.py's rule, which the stack checks
too. The file is re-read when it changes (checked at most once a second), so a key rotates by rewriting the
file, or by updating the Kubernetes Secret it is mounted from, without a restart. A read that finds no key,
an entry that breaks the rule, or a last line without its newline (a file caught half-written) keeps the
keys in force until a later read is whole, and the log says so.

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
from service.keys import KEY_CHARACTERS, ParsedKeys, read_keys

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
DUPLICATE = "send one Authorization header, not several"


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith("/docs/")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def parse_keys(text: str) -> list[str]:
    """The keys in `text` (LIFTOFF_API_KEYS); entries that break the rule are left out and logged by
    position, never read as a shorter key."""
    parsed = read_keys(text)
    if parsed.bad_entries:
        log.error("API key entries %s are not keys (%s) and are ignored", parsed.bad_entries, KEY_CHARACTERS)
    return parsed.keys


def _what_is_wrong(parsed: ParsedKeys, text: str) -> str:
    if parsed.bad_entries:
        return f"entries {parsed.bad_entries} that are not keys"
    if not parsed.keys:
        return "no key"
    return "without a newline at its end (half-written?)"


class KeyStore:
    """The keys in force. `enabled` is False only when no key source is configured at all: a key file
    that is configured but empty or unreadable refuses every request rather than opening the server."""

    def __init__(self, keys: Iterable[str] = (), keys_file: Path | None = None) -> None:
        self._static = [_digest(key) for key in keys]
        self._file = keys_file
        self._file_digests: list[bytes] = []
        self._file_stamp: tuple[int, int, int] | None = None
        self._pending_stamp: tuple[int, int, int] | None = None
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
            text = self._file.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            if self._file_digests or force:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                log.error("the API key file cannot be read (%s); every request is refused", reason)
            self._file_digests, self._file_stamp = [], None
            return
        parsed = read_keys(text)
        whole = bool(parsed.keys) and not parsed.bad_entries and text.endswith("\n")
        if not force and not whole and self._file_digests and stamp != self._pending_stamp:
            # Empty, unparsable or half-written: most likely caught mid-rewrite. The keys in force stay
            # until the file reads whole, or reads the same one interval later (then it is meant).
            self._pending_stamp = stamp
            log.warning(
                "the API key file reads %s; the %d key(s) in force stay until it reads whole",
                _what_is_wrong(parsed, text),
                len(self._file_digests),
            )
            return
        self._pending_stamp = None
        if parsed.bad_entries:
            log.error(
                "API key file lines %s are not keys (%s) and are ignored", parsed.bad_entries, KEY_CHARACTERS
            )
        self._file_digests, self._file_stamp = [_digest(key) for key in parsed.keys], stamp
        if not parsed.keys:
            log.warning("the API key file holds no key; every request is refused")
        else:
            log.info("API keys loaded: %d key(s) from the key file", len(parsed.keys))

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
        duplicate = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                # Two headers could be read differently by a proxy and here: neither is taken.
                duplicate = header is not None
                header = value.decode("latin-1")
        if not duplicate and self.keys.accepts_authorization(header):
            await self.app(scope, receive, send)
            return
        body = error_body(DUPLICATE if duplicate else UNAUTHORIZED)
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
