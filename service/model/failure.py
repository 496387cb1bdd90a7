"""A model that cannot serve ends the process loudly: one line on stderr, the same line as the container's
termination message (what `kubectl describe pod` shows), and a status a supervisor sees as a crash."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

MODEL_UNSERVABLE = 3
"""The exit status of a server whose model failed its check; service/workers.py stops on it rather than
restart a worker that would fail the same way."""

TERMINATION_MESSAGE_LIMIT = 4096
"""Kubernetes keeps at most this many bytes of a termination message."""


def one_line(reason: str) -> str:
    return " ".join(reason.split())


def exit_unservable(reason: str, termination_message_path: Path) -> None:
    """Say why on stderr and in the termination message, then end the process at once: nothing it holds
    (a listener, a half-loaded model) is worth a graceful stop, and no request was ever accepted."""
    line = f"liftoff: the model cannot be served: {one_line(reason)}"
    print(line, file=sys.stderr, flush=True)
    if termination_message_path.is_file():  # the kubelet creates it; elsewhere there is nothing to write
        with contextlib.suppress(OSError):
            termination_message_path.write_bytes(line.encode("utf-8")[:TERMINATION_MESSAGE_LIMIT])
    logging.shutdown()
    os._exit(MODEL_UNSERVABLE)
