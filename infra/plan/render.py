"""How a plan is shown: a resource table on the terminal, manifests and Helm releases as YAML files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from infra.plan.config import REPO_ROOT
from infra.plan.model import Plan


def table(plan: Plan) -> str:
    rows = [("TYPE", "NAME", "PARENT")]
    rows += [
        (f"{r.type} (read)" if r.read else r.type, r.name, r.parent_name or "(stack)") for r in plan.resources
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows]
    lines.append(
        f"\n{len(plan.resources)} resources, {len(plan.k8s_objects())} Kubernetes objects, "
        f"{len(plan.helm_releases())} Helm releases"
    )
    # The costs output is printed as its own report (cost_report).
    lines += [f"output {name}: {value}" for name, value in sorted(plan.outputs.items()) if name != "costs"]
    if plan.unanswered_calls:
        lines.append(f"provider functions the mocks do not answer: {', '.join(plan.unanswered_calls)}")
    return "\n".join(lines)


def cost_report(plan: Plan, model: str | None) -> str:
    """What the stack costs and how long its cold start takes, from the resources the plan holds."""
    from infra.costs import report

    return report.text(report.from_plan(plan, REPO_ROOT / model if model else None))


def write(plan: Plan, out: Path) -> list[Path]:
    """One YAML file per Kubernetes object under out/manifests, one per Helm release under out/helm."""
    written = []
    manifests, releases = out / "manifests", out / "helm"
    manifests.mkdir(parents=True, exist_ok=True)
    releases.mkdir(parents=True, exist_ok=True)
    for obj in plan.k8s_objects():
        namespace = obj["metadata"].get("namespace", "cluster")
        path = manifests / _file_name(f"{namespace}-{obj['kind']}-{obj['metadata']['name']}")
        head: dict[str, Any] = {key: obj[key] for key in ("apiVersion", "kind", "metadata") if key in obj}
        path.write_text(yaml.safe_dump({**head, **obj}, sort_keys=False))
        written.append(path)
    for release in plan.helm_releases():
        inputs = release.inputs
        summary = {
            "name": inputs.get("name", release.name),
            "namespace": inputs.get("namespace"),
            "chart": inputs.get("chart"),
            "version": inputs.get("version"),
            "repository": (inputs.get("repositoryOpts") or {}).get("repo"),
            "values": inputs.get("values", {}),
        }
        path = releases / _file_name(release.name)
        path.write_text(yaml.safe_dump(summary, sort_keys=False))
        written.append(path)
    return written


def _file_name(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem) + ".yaml"
