"""Run a stack's program under the plan's mocks and write its dependency graph as JSON.

The plan records inputs; destroy order and `ignore_changes` live in the registration options, so this
records, for each resource: URN, type, name, parent, dependencies and ignore_changes. A script, run in its
own process by the tests (Pulumi's runtime state is global to a process):

    python tests/infra/clouds/aws_graph.py --stack aws --out graph.json
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT))

import pulumi  # noqa: E402
from pulumi.runtime.mocks import MockMonitor  # noqa: E402
from pulumi.runtime.stack import run_pulumi_func  # noqa: E402
from pulumi.runtime.sync_await import _sync_await  # noqa: E402

from infra.plan.config import project_name, stack_config, to_config_string  # noqa: E402
from infra.plan.mocks import PlanMocks  # noqa: E402


class GraphMonitor(MockMonitor):
    def __init__(self, mocks: Any) -> None:
        super().__init__(mocks)
        self.nodes: list[dict[str, Any]] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.nodes.append(
            {
                "urn": response.urn,
                "type": request.type,
                "name": request.name,
                "parent": request.parent,
                "custom": bool(request.custom),
                "dependencies": list(request.dependencies),
                "ignore_changes": list(request.ignoreChanges),
            }
        )
        return response


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--overrides", default="{}")
    args = parser.parse_args()
    config = stack_config(args.stack)
    for key, value in json.loads(args.overrides).items():
        config[key if ":" in key else f"liftoff:{key}"] = to_config_string(value)
    monitor = GraphMonitor(PlanMocks())
    pulumi.runtime.set_all_config(config)
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project_name(), stack=args.stack, preview=False, monitor=monitor
    )
    program = REPO_ROOT / "infra" / "__main__.py"

    def run_program() -> None:
        runpy.run_path(str(program), run_name="__main__")

    _sync_await(run_pulumi_func(run_program))
    args.out.write_text(json.dumps(monitor.nodes, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
