"""Every Kubernetes object the gcp stack creates validates strictly against the OpenAPI schema of the
Kubernetes version the stack pins on GKE, and checkov finds no failing check beyond the project's justified
skips. The helpers are the dev stack's: tests/infra/test_manifests.py and tests/infra/test_checkov.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.clouds.gcp.settings import load
from infra.plan import Plan, run_stack
from infra.settings import ConfigSource
from tests.infra.test_checkov import checkov_report, unjustified_failures
from tests.infra.test_manifests import assert_core_objects_validate, assert_custom_resources_match_their_crds

STACK = "gcp"
VARIANTS = {
    "stack-file": {},
    "monitoring": {"monitoring": True, "grafanaAdminPassword": "test-only"},
}


def pinned_version() -> str:
    """`1.35.0` for `liftoff:gcpKubernetesVersion: "1.35"`: the oldest control plane the stack allows."""
    stack_file = yaml.safe_load((Path(__file__).resolve().parents[3] / "Pulumi.gcp.yaml").read_text())
    return f"{load(ConfigSource.from_dict(stack_file['config'])).kubernetes_version}.0"


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def plan(request: pytest.FixtureRequest) -> Plan:
    return run_stack(STACK, VARIANTS[request.param])


def test_every_core_object_validates_strictly_against_the_pinned_version(plan: Plan) -> None:
    assert_core_objects_validate(plan, pinned_version())


def test_every_custom_resource_matches_its_crd_fields(plan: Plan) -> None:
    custom = assert_custom_resources_match_their_crds(plan)
    if any(r.inputs.get("chart") == "keda" for r in plan.helm_releases()):
        assert custom, "monitoring is on, yet no ScaledObject or ServiceMonitor was checked"


def test_checkov_finds_no_failing_kubernetes_check_beyond_the_justified_skips(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    plans = {f"gcp-{name}": run_stack(STACK, overrides) for name, overrides in VARIANTS.items()}
    report = checkov_report(plans, tmp_path_factory.mktemp("gcp"))
    assert unjustified_failures(report) == []
