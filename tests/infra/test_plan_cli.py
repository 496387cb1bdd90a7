"""`python -m infra.plan` (and `make plan`): a table of every resource and the manifests on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from infra.plan import run_stack

ROOT = Path(__file__).resolve().parents[2]


def test_the_plan_prints_every_resource_and_writes_the_manifests(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "infra.plan", "--stack", "dev", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout
    assert "TYPE" in table and "PARENT" in table
    assert "kubernetes:apps/v1:Deployment" in table and "inference-deployment" in table
    assert "docker-build:index:Image" in table
    deployment = yaml.safe_load((tmp_path / "manifests" / "liftoff-Deployment-inference.yaml").read_text())
    assert (deployment["apiVersion"], deployment["kind"]) == ("apps/v1", "Deployment")
    traefik = yaml.safe_load((tmp_path / "helm" / "traefik.yaml").read_text())
    assert (
        traefik["chart"] == "traefik" and traefik["version"] and traefik["repository"].startswith("https://")
    )
    assert "kubeconfig: [secret]" in table


def test_a_kubeconfig_context_names_the_cluster_and_reaches_the_provider() -> None:
    plan = run_stack("dev", {"localContext": "kind-liftoff"})
    assert plan.outputs["clusterName"] == "kind-liftoff"
    (provider,) = plan.by_type("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "kind-liftoff"
    assert provider.parent_type == "liftoff:local:Platform"
