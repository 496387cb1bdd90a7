"""`python -m infra.preflight --stack aws|gcp|azure`: what only the cloud can answer, asked before money is spent.

Each check runs the cloud's own CLI (`aws`, `gcloud`, `az`) with the user's credentials, reads its JSON
answer, and reports pass or fail with the exact fix (the quota page, the setting to change). The checks take
a `Runner`, so tests feed them recorded answers (tests/infra/test_preflight.py) and never reach a cloud.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 60
"""Per CLI call: a hung credential helper must not hang the preflight."""


@dataclass(frozen=True)
class Answer:
    ok: bool
    """The command exited 0."""
    data: Any
    """Its stdout as JSON (None when it was not JSON)."""
    error: str = ""


Runner = Callable[[Sequence[str]], Answer]


def run_cli(argv: Sequence[str]) -> Answer:
    """Run one CLI call with a timeout; a missing CLI or a timeout is a failed answer, never a crash."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except FileNotFoundError:
        return Answer(False, None, f"{argv[0]} is not installed")
    except subprocess.TimeoutExpired:
        return Answer(False, None, f"{' '.join(argv[:3])} gave no answer in {TIMEOUT_S} s")
    try:
        data = json.loads(done.stdout) if done.stdout.strip() else None
    except json.JSONDecodeError:
        data = None
    return Answer(done.returncode == 0, data, done.stderr.strip()[-500:])


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    fix: str = ""
    """What to do when it failed: a page, a command or the setting to change."""

    def line(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        return f"[{mark}] {self.name}: {self.detail}" + (
            "" if self.passed or not self.fix else f"\n       fix: {self.fix}"
        )
