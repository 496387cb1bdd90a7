"""The policy pack passes a stack scaling to zero (liftoff:minReplicas 0), with and without monitoring."""

from __future__ import annotations

import pytest

from infra.plan import run_stack
from tests.infra.conftest import DEV_GPU_MONITORING
from tests.policies.plans import violations


@pytest.mark.parametrize("monitoring", [False, True])
def test_the_policy_pack_passes_scaling_to_zero(monitoring: bool) -> None:
    extra = DEV_GPU_MONITORING if monitoring else {}
    plan = run_stack("dev", {**extra, "minReplicas": 0})
    assert any(o["kind"] == "HTTPScaledObject" for o in plan.k8s_objects())
    assert violations(plan) == []
