"""Every Kubernetes object the gcp stack creates validates strictly against the OpenAPI schema of the
Kubernetes version the stack pins on GKE, and checkov finds no failing check beyond the project's justified
skips. The helpers are the dev stack's: tests/infra/test_manifests.py and tests/infra/test_checkov.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from infra.plan import Plan, run_stack
from infra.plan.render import write
from infra.settings import ConfigSource
from infra.settings.gcp import load
from tests.infra.test_checkov import CHECKOV, _json_documents, failed_checks, justified
from tests.infra.test_manifests import CUSTOM_RESOURCE_SCHEMAS

STACK = "gcp"
VARIANTS = {
    "stack-file": {},
    "monitoring": {"monitoring": True, "grafanaAdminPassword": "test-only"},
}


def pinned_version() -> str:
    """`1.34.0` for `liftoff:gcpKubernetesVersion: "1.34"`: the oldest control plane the stack allows."""
    stack_file = yaml.safe_load((Path(__file__).resolve().parents[3] / "Pulumi.gcp.yaml").read_text())
    return f"{load(ConfigSource.from_dict(stack_file['config'])).kubernetes_version}.0"


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def plan(request: pytest.FixtureRequest) -> Plan:
    return run_stack(STACK, VARIANTS[request.param])


def test_every_core_object_validates_strictly_against_the_pinned_version(plan: Plan) -> None:
    core = [o for o in plan.k8s_objects() if (o["apiVersion"], o["kind"]) not in CUSTOM_RESOURCE_SCHEMAS]
    assert {o["kind"] for o in core} >= {"Namespace", "Deployment", "Service", "Ingress", "NetworkPolicy"}
    for obj in core:
        try:
            kubernetes_validate.validate(obj, pinned_version(), strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")


def test_every_custom_resource_matches_its_crd_fields(plan: Plan) -> None:
    custom = [o for o in plan.k8s_objects() if (o["apiVersion"], o["kind"]) in CUSTOM_RESOURCE_SCHEMAS]
    if any(r.inputs.get("chart") == "keda" for r in plan.helm_releases()):
        assert custom, "monitoring is on, yet no ScaledObject or ServiceMonitor was checked"
    for obj in custom:
        jsonschema.validate(obj, CUSTOM_RESOURCE_SCHEMAS[(obj["apiVersion"], obj["kind"])])


def test_checkov_finds_no_failing_kubernetes_check_beyond_the_justified_skips(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    assert CHECKOV.exists(), "checkov is missing: `make venv` installs it into .venv-checkov"
    folders = []
    for name, overrides in VARIANTS.items():
        out = tmp_path_factory.mktemp(f"gcp-{name}")
        write(run_stack(STACK, overrides), out)
        folders += ["-d", str(out / "manifests")]
    done = subprocess.run(
        [str(CHECKOV), *folders, "--framework", "kubernetes", "--output", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = _json_documents(done.stdout)
    assert sum(section["summary"]["passed"] for section in report) > 50  # type: ignore[index]
    unjustified = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in failed_checks(report)
        if check["check_id"] not in justified()
    ]
    assert unjustified == []
