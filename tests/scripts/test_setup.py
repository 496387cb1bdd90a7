"""scripts/setup.sh reports what is there and what is missing, and fails only for what a stack requires."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "scripts" / "setup.sh"
# What the script itself runs; everything else on PATH is what it checks for.
BASICS = ("bash", "python3", "make", "uname", "sed", "dirname")


@pytest.fixture
def bare_path(tmp_path: Path) -> Path:
    """A PATH with the basics only, so the result does not depend on what this machine has installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in BASICS:
        # python3 may be a version manager's shim; link the real interpreter instead.
        found = str(Path(sys.executable).resolve()) if tool == "python3" else shutil.which(tool)
        assert found, f"{tool} is needed to run the test"
        (bin_dir / tool).symlink_to(found)
    return bin_dir


def fake_tool(bin_dir: Path, name: str) -> None:
    tool = bin_dir / name
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)


def run(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        ["bash", str(SETUP), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def state(output: str, tool: str) -> str:
    match = re.search(rf"^\s+{re.escape(tool)}\s+(\S+)", output, re.MULTILINE)
    assert match, f"{tool} not reported:\n{output}"
    return match.group(1)


def test_check_on_this_machine_succeeds_and_changes_nothing() -> None:
    result = subprocess.run(["bash", str(SETUP), "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert state(result.stdout, "python3") == "ok"


def test_serving_locally_needs_no_deployment_tools(bare_path: Path) -> None:
    result = run(bare_path, "--check")
    assert result.returncode == 0, result.stdout
    for tool in ("docker", "pulumi", "kubectl"):
        assert state(result.stdout, tool) == "optional"


@pytest.mark.parametrize(
    ("stack", "cloud_tools"),
    [("aws", ["aws"]), ("gcp", ["gcloud", "gke-gcloud-auth-plugin"]), ("azure", ["az", "kubelogin"])],
)
def test_a_cloud_stack_requires_its_cli_and_says_how_to_get_it(
    bare_path: Path, stack: str, cloud_tools: list[str]
) -> None:
    for tool in ("docker", "pulumi", "kubectl"):
        fake_tool(bare_path, tool)
    result = run(bare_path, "--check", "--stack", stack)
    assert result.returncode == 1
    for tool in cloud_tools:
        assert state(result.stdout, tool) == "MISSING"
    for tool in cloud_tools:
        fake_tool(bare_path, tool)
    assert run(bare_path, "--check", "--stack", stack).returncode == 0


def test_deploying_requires_pulumi_kubectl_and_docker(bare_path: Path) -> None:
    result = run(bare_path, "--check", "--stack", "dev")
    assert result.returncode == 1
    for tool in ("docker", "pulumi", "kubectl"):
        assert state(result.stdout, tool) == "MISSING"


def test_an_unknown_stack_is_a_usage_error_naming_the_choices(bare_path: Path) -> None:
    result = run(bare_path, "--stack", "moon")
    assert result.returncode == 2
    assert "dev, aws, gcp, azure" in result.stderr


def test_windows_script_checks_the_same_cloud_tools() -> None:
    ps1 = (ROOT / "scripts" / "setup.ps1").read_text()
    sh = SETUP.read_text()
    for tool in ("aws", "gcloud", "gke-gcloud-auth-plugin", "az", "kubelogin", "pulumi", "kubectl", "docker"):
        assert f'"{tool}"' in ps1, tool
        assert tool in sh, tool
