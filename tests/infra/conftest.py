"""Fixtures for the infra tests: offline plans of any stack, run once per stack and overrides.

    def test_something(plan_for):
        plan = plan_for("aws", {"gpu": 1})
        deployment = plan.k8s_object("Deployment", "inference")

Each plan runs `infra/__main__.py` under Pulumi's mocks in a fresh process (see infra/plan/__init__.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from infra.plan import Plan, run_stack

PlanFor = Callable[..., Plan]

DEV_GPU_MONITORING = {
    "gpu": 1,
    "monitoring": True,
    "grafanaAdminPassword": "test-only",
    "localGpuNodeSelector": ["gpu=yes"],
}
"""The dev stack on a cluster with GPU nodes (labelled gpu=yes), with monitoring: every optional object."""


@pytest.fixture(scope="session")
def plan_for() -> PlanFor:
    def plan(stack: str, overrides: Mapping[str, object] | None = None) -> Plan:
        return run_stack(stack, overrides)

    return plan


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    """The dev stack as committed: CPU, no monitoring."""
    return run_stack("dev")


@pytest.fixture(scope="session")
def dev_gpu_plan() -> Plan:
    return run_stack("dev", DEV_GPU_MONITORING)


DEV_TLS = {"ingressHost": "models.example.com", "tlsEmail": "ops@example.com"}
"""The dev stack with a host and a Let's Encrypt certificate: cert-manager, the ClusterIssuer, HSTS."""


@pytest.fixture(scope="session")
def dev_tls_plan() -> Plan:
    return run_stack("dev", DEV_TLS)
