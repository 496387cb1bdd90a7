"""The `local` cloud's answers for the offline plan: none, it creates no cloud resources and calls no
cloud functions (the Kubernetes and Helm answers every stack shares live in infra/plan/mocks.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Annotations only: infra/plan/mocks.py imports this module while it loads.
    from infra.plan.mocks import CallResult, ResourceOutputs

RESOURCES: dict[str, ResourceOutputs] = {}
CALLS: dict[str, CallResult] = {}
