"""The lab's API key: generated at start (or given), written to the key file every replica reads
(`LIFTOFF_API_KEYS_FILE`), and rewritten the way the kubelet updates a mounted Secret (service/auth.py)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from service.auth import parse_keys

KEY_FILE_NAME = "api-keys"


def new_key() -> str:
    """256 random bits, URL-safe, with a prefix that makes a leaked key easy to recognise."""
    return "lk_" + secrets.token_urlsafe(32)


def write_keys(path: Path, keys: Iterable[str]) -> None:
    """Replace the key file at once: a new file of mode 0600 renamed over the old one, so a replica never
    reads a half-written file (the kubelet swaps a Secret volume's files the same way)."""
    staged = path.with_name(f".{path.name}.{os.getpid()}.new")
    staged.unlink(missing_ok=True)
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("".join(f"{key}\n" for key in keys))
    os.replace(staged, path)


def read_key(path: Path) -> str:
    """The first key in a key file (one a line, `#` comments skipped), for the load generator."""
    keys = parse_keys(path.read_text())
    if keys:
        return keys[0]
    raise ValueError(f"api key file: {path} holds no key")
