"""Every Kubernetes object the aws stack creates validates strictly against the OpenAPI schema of the
Kubernetes version the stack pins on EKS, and passes checkov with the project's justified skips (the dev
stack's tests own those helpers: tests/infra/test_manifests.py, tests/infra/test_checkov.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from infra.plan import Plan, run_stack
from infra.plan.render import write
from infra.settings import ConfigSource
from infra.settings.aws import load
from tests.infra.test_checkov import CHECKOV, CONFIG
from tests.infra.test_manifests import CUSTOM_RESOURCE_SCHEMAS

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
    version = f"{pinned_version()}.0"
    core = [o for o in plan.k8s_objects() if (o["apiVersion"], o["kind"]) not in CUSTOM_RESOURCE_SCHEMAS]
    assert {o["kind"] for o in core} >= {"Namespace", "Deployment", "Service", "Ingress", "NetworkPolicy"}
    for obj in core:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")


def test_every_custom_resource_matches_its_crd_fields(plan: Plan) -> None:
    for obj in plan.k8s_objects():
        schema = CUSTOM_RESOURCE_SCHEMAS.get((obj["apiVersion"], obj["kind"]))
        if schema is not None:
            jsonschema.validate(obj, schema)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_checkov_finds_no_failing_kubernetes_check(variant: str, tmp_path: Path) -> None:
    assert CHECKOV.exists(), "checkov is missing: `make venv` installs it into .venv-checkov"
    write(run_stack(STACK, VARIANTS[variant]), tmp_path)
    done = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(tmp_path / "manifests"),
            "--config-file",
            str(CONFIG),
            "--output",
            "json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    parsed = json.loads(done.stdout)
    report = parsed if isinstance(parsed, list) else [parsed]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for section in report
        for check in section["results"]["failed_checks"]
    ]
    assert sum(section["summary"]["passed"] for section in report) > 50
    assert failed == []
