"""The gcp stack's creation order (and so its reverse, the destroy order), from the dependency graph."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from infra.clouds.gcp.identity import NODE_PROJECT_ROLES

STACK = "gcp"
NODE_POOL = "gcp:container/nodePool:NodePool"
IAM_MEMBERS = (
    "gcp:projects/iAMMember:IAMMember",
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
)
# Writes each resource's dependencies (the plan records inputs only); generic over stacks despite its name.
GRAPH_SCRIPT = Path(__file__).with_name("aws_graph.py")


@functools.lru_cache(maxsize=1)
def graph() -> dict[str, dict[str, Any]]:
    """URN -> node (type, name, custom, dependencies) of the default gcp stack, from its own process."""
    with tempfile.TemporaryDirectory(prefix="liftoff-gcp-graph-") as scratch:
        out = Path(scratch) / "graph.json"
        subprocess.run(
            [sys.executable, str(GRAPH_SCRIPT), "--stack", STACK, "--out", str(out)],
            check=True,
            capture_output=True,
            timeout=240,
        )
        return {node["urn"]: node for node in json.loads(out.read_text())}


def of_type(type_: str) -> list[str]:
    return [urn for urn, node in graph().items() if node["type"] == type_]


def waits_for(urn: str, other: str) -> bool:
    """Whether `urn` is created after `other` (and deleted before it), directly or transitively."""
    nodes = graph()
    seen: set[str] = set()
    todo = [urn]
    while todo:
        for dependency in set(nodes[todo.pop()]["dependencies"]) - seen:
            seen.add(dependency)
            todo.append(dependency)
    return other in seen


def test_every_resource_waits_for_the_apis_it_needs() -> None:
    apis = of_type("gcp:projects/service:Service")
    assert len(apis) >= 3
    for urn, node in graph().items():
        if node["type"].startswith("gcp:") and urn not in apis:
            assert all(waits_for(urn, api) for api in apis), node["name"]


def test_nodes_start_only_once_they_can_log_pull_and_reach_out() -> None:
    grants = [urn for t in IAM_MEMBERS for urn in of_type(t)]
    [nat] = of_type("gcp:compute/routerNat:RouterNat")
    pools = of_type(NODE_POOL)
    # The node account's project roles (infra/clouds/gcp/identity.py) and its registry reader role.
    assert len(grants) == len(NODE_PROJECT_ROLES) + 1 and len(pools) == 2
    for pool_urn in pools:
        assert all(waits_for(pool_urn, grant) for grant in grants), pool_urn
        assert waits_for(pool_urn, nat)


def test_the_workload_waits_for_both_node_pools_and_is_deleted_before_them() -> None:
    pools = of_type(NODE_POOL)
    workload = [
        urn
        for urn, node in graph().items()
        if node["custom"]
        and node["type"].startswith("kubernetes:")
        and not node["type"].startswith("pulumi:")
    ]
    assert workload
    for urn in workload:
        assert all(waits_for(urn, pool_urn) for pool_urn in pools), urn
