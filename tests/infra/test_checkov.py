"""checkov's Kubernetes checks on every manifest the dev stack renders (CPU, and GPU with monitoring).

checkov runs with every check on; a failure passes only if tests/infra/checkov.yaml lists it as skipped,
with its reason, and every check listed there must still be needed."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from infra.plan import Plan
from infra.plan.render import write

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CONFIG = Path(__file__).with_name("checkov.yaml")


def checkov_report(plans: Mapping[str, Plan], folder: Path) -> list[dict[str, object]]:
    """checkov's Kubernetes checks, every one on, over the manifests of each plan (written under
    folder/<name>). The cloud stacks' tests use this too."""
    assert CHECKOV.exists(), "checkov is missing: `make venv` installs it into .venv-checkov"
    folders = []
    for name, plan in plans.items():
        write(plan, folder / name)
        folders += ["-d", str(folder / name / "manifests")]
    done = subprocess.run(
        [str(CHECKOV), *folders, "--framework", "kubernetes", "--output", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = _json_documents(done.stdout)
    passed = sum(section["summary"]["passed"] for section in report)  # type: ignore[index]
    assert passed > 50, "checkov scanned almost nothing: were the manifests written?"
    return report


def unjustified_failures(report: list[dict[str, object]]) -> list[str]:
    """Failed checks that tests/infra/checkov.yaml does not list with a reason."""
    return [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in failed_checks(report)
        if check["check_id"] not in justified()
    ]


@pytest.fixture(scope="module")
def report(
    tmp_path_factory: pytest.TempPathFactory, dev_plan: Plan, dev_gpu_plan: Plan
) -> list[dict[str, object]]:
    return checkov_report({"cpu": dev_plan, "gpu-monitoring": dev_gpu_plan}, tmp_path_factory.mktemp("dev"))


def _json_documents(text: str) -> list[dict[str, object]]:
    """checkov prints one JSON document per folder."""
    decoder, documents, index = json.JSONDecoder(), [], 0
    while index < len(text.rstrip()):
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
        while index < len(text) and text[index].isspace():
            index += 1
    return documents


def justified() -> set[str]:
    return set(yaml.safe_load(CONFIG.read_text())["skip-check"])


def failed_checks(report: list[dict[str, object]]) -> list[dict[str, str]]:
    return [check for section in report for check in section["results"]["failed_checks"]]  # type: ignore[index]


def test_no_kubernetes_check_fails_except_the_justified_ones(report: list[dict[str, object]]) -> None:
    assert unjustified_failures(report) == []


def test_every_justified_skip_is_still_needed(report: list[dict[str, object]]) -> None:
    assert justified() <= {check["check_id"] for check in failed_checks(report)}
