"""The cost table is computed from what the plan holds: change a setting (or a resource) and its line moves;
a type or region the price table lacks is unknown, never a guess."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt

import pytest
from conftest import PlanFor

from infra.costs import report
from infra.costs.estimate import Line
from infra.plan import Plan

IDLE, BUSY, MAX = 0, 1, 2

WARM = {"minReplicas": 1}
"""One replica kept warm (the stacks now default to minReplicas 0): the GPU node shows in idle."""
EKS_LOGS = {"awsControlPlaneLogs": ["api", "audit", "authenticator"]}
"""EKS control-plane logs with audit (the stack's default is authenticator only)."""
GKE_TELEMETRY = {"gcpWorkloadLogs": True, "gcpManagedGpuMetrics": True}
"""GKE workload logs and managed GPU metrics on (the stack's defaults are off)."""


def built(plan: Plan, today: dt.date = dt.date(2026, 12, 7)) -> report.Report:
    return report.from_plan(plan, None, today)


def lines(plan: Plan, group: str) -> list[Line]:
    found = [line for line in built(plan).estimate.lines if line.group == group]
    assert found, f"no {group} line in {[line.group for line in built(plan).estimate.lines]}"
    return found


def gpu(plan: Plan) -> Line:
    (line,) = lines(plan, "GPU nodes")
    return line


@pytest.mark.parametrize("stack", ["aws", "gcp", "azure"])
def test_every_cloud_stack_has_each_line_and_three_situations(plan_for: PlanFor, stack: str) -> None:
    found = built(plan_for(stack))
    groups = {line.group for line in found.estimate.lines}
    assert {"control plane", "system nodes", "GPU nodes", "NAT, load balancer, public IPs"} <= groups
    assert "registry and storage" in groups
    text = report.text(found)
    for title in ("idle", "busy", "max", "total per hour", "total per day", "total per month (730 h)"):
        assert title in text
    assert "prices read 2026-12-04" in text, "the plan prints the price table's dates"


def test_min_replicas_zero_takes_the_gpu_node_out_of_idle_only(plan_for: PlanFor) -> None:
    warm, cold = gpu(plan_for("aws", WARM)), gpu(plan_for("aws", {"minReplicas": 0}))
    assert warm.counts == (1, 1, 3) and cold.counts == (0, 1, 3)
    assert warm.per_hour(IDLE) == pytest.approx(1.006) and cold.per_hour(IDLE) == 0
    assert cold.per_hour(BUSY) == pytest.approx(1.006) and cold.per_hour(MAX) == pytest.approx(3 * 1.006)
    idle_warm = built(plan_for("aws", WARM)).estimate.total_per_hour(IDLE)[0]
    idle_cold = built(plan_for("aws", {"minReplicas": 0})).estimate.total_per_hour(IDLE)[0]
    # The GPU node and its disk go; everything else stays.
    (gpu_disk,) = [
        line for line in lines(plan_for("aws", WARM), "node disks") if line.what.startswith("gpu pool")
    ]
    assert idle_warm - idle_cold == pytest.approx(1.006 + (gpu_disk.per_hour(IDLE) or 0))
    assert gpu_disk.per_hour(IDLE) == pytest.approx(100 * 0.08 / 730)


def test_the_pool_maximum_drives_the_max_column(plan_for: PlanFor) -> None:
    line = gpu(plan_for("aws", {"awsGpuMaxNodes": 5, "maxReplicas": 4}))
    assert line.counts[MAX] == 5 and line.per_hour(MAX) == pytest.approx(5 * 1.006)


def test_a_gpu_type_not_in_the_price_table_is_unknown_and_named(plan_for: PlanFor) -> None:
    line = gpu(plan_for("aws", {**WARM, "awsGpuInstanceTypes": ["g6.xlarge"]}))
    assert "g6.xlarge" in line.what and line.price is None and line.per_hour(IDLE) is None
    found = built(plan_for("aws", {**WARM, "awsGpuInstanceTypes": ["g6.xlarge"]}))
    _hourly, unknown = found.estimate.total_per_hour(IDLE)
    assert "GPU nodes" in unknown and report.totals(found.estimate)["idle"]["per_hour"].startswith("≥ ")
    assert "unknown" in report.text(found)


def test_spot_capacity_reads_the_spot_row(plan_for: PlanFor) -> None:
    line = gpu(plan_for("aws", {**WARM, "awsGpuSpot": True}))
    assert "spot" in line.what and line.price is not None and line.price.capacity == "spot"
    assert line.per_hour(IDLE) is None, (
        "the table has no public spot price for g5.xlarge: unknown, not on-demand"
    )


def test_a_region_not_in_the_table_leaves_every_priced_line_unknown(plan_for: PlanFor) -> None:
    found = built(plan_for("aws", {"awsRegion": "eu-west-1"}))
    assert found.estimate.region == "eu-west-1"
    for line in found.estimate.lines:
        assert line.price is None, f"{line.group} priced from another region's row"
    assert "eu-west-1" in report.text(found)


def test_the_eks_control_plane_logs_line_follows_the_clusters_log_types(plan_for: PlanFor) -> None:
    plan = plan_for("aws", EKS_LOGS)
    (usage,) = built(plan).estimate.usage
    assert usage.item == "logs/cloudwatch" and "audit" in usage.what and usage.price is not None
    quiet = _edited(plan, "aws:eks/cluster:Cluster", lambda i: i.update(enabledClusterLogTypes=[]))
    assert built(quiet).estimate.usage == []


def test_gke_logging_and_managed_prometheus_lines_follow_the_cluster(plan_for: PlanFor) -> None:
    plan = plan_for("gcp", GKE_TELEMETRY)
    items = {u.item for u in built(plan).estimate.usage}
    assert items == {"logs/cloud-logging", "metrics/managed-prometheus"}

    def off(inputs: dict) -> None:
        inputs["loggingConfig"] = {"enableComponents": []}
        inputs["monitoringConfig"] = {"managedPrometheus": {"enabled": False}}

    assert built(_edited(plan, "gcp:container/cluster:Cluster", off)).estimate.usage == []


def test_the_program_exports_the_same_lines_pulumi_preview_shows(plan_for: PlanFor) -> None:
    # The stack output comes from the program's own walk (as in `pulumi preview`); the plan's from the
    # resources the mocks recorded: both must price the same lines.
    for stack in ("aws", "gcp", "azure"):
        plan = plan_for(stack)
        exported = plan.outputs["costs"]
        assert exported["lines"] == report.outputs(built(plan))["lines"], stack
        assert exported["totals"] == report.totals(built(plan).estimate), stack


def test_dev_says_its_cluster_costs_are_the_users(dev_plan: Plan) -> None:
    text = report.text(built(dev_plan))
    assert "no billed cloud resources" in text and built(dev_plan).estimate.lines == []


def test_prices_older_than_90_days_warn(plan_for: PlanFor) -> None:
    assert built(plan_for("aws")).warnings == []
    late = built(plan_for("aws"), today=dt.date(2027, 6, 1))
    assert any("more than 90" in w and "prices.yaml" in w for w in late.warnings)


def _edited(plan: Plan, type_: str, change) -> Plan:  # type: ignore[no-untyped-def]
    resources = []
    for r in plan.resources:
        if r.type == type_:
            inputs = copy.deepcopy(r.inputs)
            change(inputs)
            r = dataclasses.replace(r, inputs=inputs)
        resources.append(r)
    return dataclasses.replace(plan, resources=resources)
