"""Every Kubernetes object the aws stack creates validates strictly against the OpenAPI schema of the
Kubernetes version the stack pins on EKS, and passes checkov with the project's justified skips (the dev
stack's tests own those helpers: tests/infra/test_manifests.py, tests/infra/test_checkov.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.clouds.aws.settings import load
from infra.plan import Plan, run_stack
from infra.settings import ConfigSource
from tests.infra.test_checkov import checkov_report, unjustified_failures
from tests.infra.test_manifests import assert_core_objects_validate, assert_custom_resources_match_their_crds

STACK = "aws"
VARIANTS = {
    "stack-file": {},
    "monitoring": {"monitoring": True, "grafanaAdminPassword": "test-only"},
}


def pinned_version() -> str:
    stack_file = yaml.safe_load((Path(__file__).resolve().parents[3] / "Pulumi.aws.yaml").read_text())
    return load(ConfigSource.from_dict(stack_file["config"])).kubernetes_version


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def plan(request: pytest.FixtureRequest) -> Plan:
    return run_stack(STACK, VARIANTS[request.param])


def test_every_core_object_validates_strictly_against_the_pinned_version(plan: Plan) -> None:
    assert_core_objects_validate(plan, f"{pinned_version()}.0")


def test_every_custom_resource_matches_its_crd_fields(plan: Plan) -> None:
    assert_custom_resources_match_their_crds(plan)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_checkov_finds_no_failing_kubernetes_check(variant: str, tmp_path: Path) -> None:
    report = checkov_report({variant: run_stack(STACK, VARIANTS[variant])}, tmp_path)
    assert unjustified_failures(report) == []
