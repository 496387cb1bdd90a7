"""The offline plan: what `pulumi up --stack <stack>` would create, with no credentials, CLI or plugins.

`python -m infra.plan --stack dev --out out/plan/dev` prints every resource (type, name, parent) and writes
every Kubernetes object as YAML. Helm releases cannot be rendered offline: each is written with its chart,
repository, version and values. Tests use `run_stack`, which runs each plan in a fresh Python process
(Pulumi's runtime state is global) and caches it per stack and overrides.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from infra.plan.config import REPO_ROOT
from infra.plan.model import Plan, PlannedResource

__all__ = ["Plan", "PlanError", "PlannedResource", "run_stack"]

PLAN_TIMEOUT_S = 240


class PlanError(RuntimeError):
    """The program failed under mocks; the message is what it printed (a settings error names the key)."""


def run_stack(stack: str, overrides: Mapping[str, object] | None = None) -> Plan:
    """Plan `stack` with `overrides` (keys `liftoff:gpu` or `gpu`) on top of its stack file."""
    return _run_cached(stack, json.dumps(dict(overrides or {}), sort_keys=True))


@functools.lru_cache(maxsize=32)
def _run_cached(stack: str, overrides_json: str) -> Plan:
    with tempfile.TemporaryDirectory(prefix="liftoff-plan-") as scratch:
        result_path = Path(scratch) / "plan.json"
        command = [
            sys.executable,
            "-m",
            "infra.plan",
            "--stack",
            stack,
            "--quiet",
            "--json",
            str(result_path),
        ]
        command += ["--overrides", overrides_json]
        done = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=PLAN_TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            raise PlanError((done.stderr or done.stdout).strip())
        return Plan.from_json(result_path.read_text())
