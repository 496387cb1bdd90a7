"""Run the Pulumi program under mocks, in this process. Pulumi's runtime keeps global state, so a process
runs one plan: `infra.plan.run_stack` starts a fresh one per plan."""

from __future__ import annotations

import runpy
from typing import Any

import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.plan.config import REPO_ROOT, project_name
from infra.plan.mocks import PlanMocks
from infra.plan.model import SECRET, Plan
from infra.plan.record import RecordingMonitor, redact

PROGRAM = REPO_ROOT / "infra" / "__main__.py"


def execute(stack: str, config: dict[str, str]) -> Plan:
    """Run the program with this stack's config (full keys, Pulumi string values) and record everything."""
    mocks = PlanMocks()
    monitor = RecordingMonitor(mocks)
    warnings: list[str] = []
    show = pulumi.log.warn

    def warn(
        msg: str,
        resource: pulumi.Resource | None = None,
        stream_id: int | None = None,
        ephemeral: bool | None = None,
    ) -> None:
        # Recorded for the tests, and still printed, as `pulumi up` would show it.
        warnings.append(msg)
        show(msg, resource, stream_id, ephemeral)

    pulumi.log.warn = warn
    pulumi.runtime.set_all_config(config)
    pulumi.runtime.set_mocks(mocks, project=project_name(), stack=stack, preview=False, monitor=monitor)

    def program() -> None:
        runpy.run_path(str(PROGRAM), run_name="__main__")

    _sync_await(run_pulumi_func(program))
    return Plan(
        stack=stack,
        resources=monitor.recorded,
        outputs=_stack_outputs(),
        unanswered_calls=sorted(set(mocks.unanswered_calls)),
        warnings=warnings,
    )


def _stack_outputs() -> dict[str, Any]:
    root = pulumi.runtime.get_root_resource()
    exported: dict[str, Any] = getattr(root, "outputs", {}) or {}
    resolved = {}
    for name, value in exported.items():
        output = pulumi.Output.from_input(value)
        is_secret = _sync_await(output.is_secret())
        resolved[name] = SECRET if is_secret else redact(_sync_await(output.future()))
    return resolved
