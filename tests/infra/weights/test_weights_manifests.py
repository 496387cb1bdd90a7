"""The objects a stack with weights renders (the ServiceAccount's annotations, the pod's volume, env and
labels, the NetworkPolicy's egress) validate strictly against Kubernetes' schema and pass checkov with the
project's justified skips, on each cloud and on dev."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.plan import Plan, run_stack
from tests.infra.test_checkov import checkov_report, unjustified_failures
from tests.infra.test_manifests import assert_core_objects_validate
from tests.infra.weights.weights_models import PREBUILT, local_model, model_dir

DEV_URI = {
    "weightsSize": "3Gi",
    "weightsEndpoint": "http://seaweedfs.storage.svc:8333",
    "weightsCredentialsSecret": "weights-credentials",
}


def weights_plans() -> dict[str, Plan]:
    model = local_model("big")
    plans = {cloud: run_stack(cloud, {"model": model}) for cloud in ("aws", "gcp", "azure")}
    plans["dev"] = run_stack(
        "dev", {**PREBUILT, "model": model_dir("remote-dev", "s3://models/llm/"), **DEV_URI}
    )
    return plans


@pytest.mark.parametrize("stack", ["aws", "gcp", "azure", "dev"])
def test_every_core_object_with_weights_validates_strictly(stack: str) -> None:
    plan = weights_plans()[stack]
    assert any(
        v["name"] == "weights"
        for v in plan.k8s_object("Deployment", "inference")["spec"]["template"]["spec"]["volumes"]
    )
    assert_core_objects_validate(plan)


def test_checkov_finds_no_failing_check_with_weights(tmp_path: Path) -> None:
    report = checkov_report(weights_plans(), tmp_path)
    assert unjustified_failures(report) == []
