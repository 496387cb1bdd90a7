"""What the plan and `pulumi preview` print about money and time: the cost table, the price table's dates,
the cold-start budget, the timeouts checked against it and the break-even of scaling to zero. One function
builds it from resources, so the offline plan and the program's own walk print the same."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.costs import coldstart
from infra.costs.estimate import SCENARIO_TITLES, SCENARIOS, Estimate, estimate, per_day, per_month
from infra.costs.prices import PriceTable, staleness_warning
from infra.costs.walk import Holdings, Resource, holdings, resource
from infra.plan.model import Plan
from infra.settings.scale_to_zero import ScaleToZero


@dataclass
class Report:
    holdings: Holdings
    estimate: Estimate
    budget: coldstart.Budget
    timeouts: list[coldstart.Timeout]
    break_even: coldstart.BreakEven | None
    idle_s: int
    idle_source: str
    unneeded_s: int | None
    unneeded_source: str
    warnings: list[str] = field(default_factory=list)
    dates: tuple[dt.date, dt.date] | None = None


def from_plan(plan: Plan, model_dir: Path | None, today: dt.date | None = None) -> Report:
    """The report from the offline plan's recorded resources (what the mocks were asked to create)."""
    return build([resource(r.type, r.name, r.inputs) for r in plan.resources if not r.read], model_dir, today)


def build(
    resources: Iterable[Resource],
    model_dir: Path | None,
    today: dt.date | None = None,
    table: PriceTable | None = None,
) -> Report:
    today = today or dt.date.today()
    table = table or PriceTable.load()
    data = coldstart.load_data()
    h = holdings(resources)
    image = (data.get("image_pull_mb") or {}).get(h.image_variant or "", {})
    found = estimate(h, table, image.get("mb"))
    weights = coldstart.weights_outside_image(model_dir)
    budget = coldstart.budget(h, weights, data)
    if h.scaledown_period_s is not None:
        idle_s, idle_source = int(h.scaledown_period_s), "the plan's HTTPScaledObject scaledownPeriod"
    else:
        idle_s, idle_source = (
            ScaleToZero.model_validate({}).idle_s,
            "liftoff:scaleToZero idleMinutes' default, were minReplicas 0",
        )
    unneeded_s, unneeded_source = coldstart.node_unneeded_s(h, data)
    warnings = coldstart.timeout_warnings(h, budget, data)
    stale = staleness_warning(found.prices_used, today)
    if stale:
        warnings.append(stale)
    return Report(
        holdings=h,
        estimate=found,
        budget=budget,
        timeouts=coldstart.timeouts(h, data),
        break_even=coldstart.break_even(found.gpu_node_per_hour, budget, idle_s, unneeded_s),
        idle_s=idle_s,
        idle_source=idle_source,
        unneeded_s=unneeded_s,
        unneeded_source=unneeded_source,
        warnings=warnings,
        dates=table.dates(found.prices_used),
    )


def money(value: float | None) -> str:
    if value is None:
        return "unknown"
    if 0 < value < 0.001:
        return f"${value:.4f}"
    return f"${value:,.3f}" if value < 10 else f"${value:,.0f}"


def dollars(value: float) -> str:
    """A day's or a month's figure: cents below $100, whole dollars above."""
    return f"${value:,.2f}" if value < 100 else f"${value:,.0f}"


def total_text(value: float, unknown: list[str], show: Callable[[float], str] = money) -> str:
    return f"≥ {show(value)}" if unknown else show(value)


def totals(found: Estimate) -> dict[str, dict[str, str]]:
    """Per scenario: per hour, per day, per month, as printed (a floor marked ≥ when a line is unknown)."""
    out: dict[str, dict[str, str]] = {}
    for index, scenario in enumerate(SCENARIOS):
        hourly, unknown = found.total_per_hour(index)
        out[scenario] = {
            "per_hour": total_text(hourly, unknown),
            "per_day": total_text(per_day(hourly), unknown, dollars),
            "per_month": total_text(per_month(hourly), unknown, dollars),
            "unknown": ", ".join(unknown),
        }
    return out


def cost_lines(report: Report) -> list[str]:
    found, h = report.estimate, report.holdings
    if found.cloud is None:
        return [
            "cost: this stack creates no billed cloud resources (the cluster is the one in your kubeconfig):",
            "  its nodes, load balancer and registry cost what your cluster costs; Liftoff adds $0 of its own",
        ]
    dates = (
        f"prices read {report.dates[0].isoformat()} to {report.dates[1].isoformat()}"
        if report.dates
        else "no price found"
    )
    lines = [
        f"cost, US dollars, list prices, {found.cloud} {found.region} ({dates}; infra/costs/prices.yaml)",
        f"  minReplicas {h.min_replicas}, maxReplicas {h.max_replicas}; per hour: "
        + " | ".join(SCENARIO_TITLES[s] for s in SCENARIOS),
    ]
    rows: list[tuple[str, ...]] = [("line", "what", *SCENARIOS)]
    for line in found.lines:
        rows.append((line.group, line.what, *(money(line.per_hour(i)) for i in range(len(SCENARIOS)))))
    sums = totals(found)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, s in enumerate(SCENARIOS):
        widths[2 + i] = max(widths[2 + i], *(len(sums[s][p]) for p in ("per_hour", "per_day", "per_month")))
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    for period in ("per_hour", "per_day", "per_month"):
        label = {
            "per_hour": "total per hour",
            "per_day": "total per day",
            "per_month": "total per month (730 h)",
        }
        cells = [sums[s][period].ljust(widths[2 + i]) for i, s in enumerate(SCENARIOS)]
        lines.append("  " + "  ".join([label[period].ljust(widths[0] + widths[1] + 2), *cells]).rstrip())
    unknown = sorted({g for s in SCENARIOS for g in sums[s]["unknown"].split(", ") if g})
    if unknown:
        lines.append(
            f"  unknown (no price in the table for this type and region): {', '.join(unknown)}; ≥ = the known lines only"
        )
    for usage in found.usage:
        price = (
            f"${usage.price.usd:.2f} per GB ingested"
            if usage.price is not None and usage.price.usd is not None
            else "price unknown"
        )
        lines.append(f"  by use, not in the totals: {usage.group}: {usage.what}: {price}")
    lines.append("  not counted: data transfer, NAT and load balancer per-GB processing, requests")
    return lines


def cold_start_lines(report: Report) -> list[str]:
    lines = ["cold start, no GPU node running to the first answer (infra/costs/coldstart.yaml):"]
    for stage in report.budget.stages:
        if stage.low_s is None or stage.high_s is None:
            figure = "unknown"
        elif stage.low_s == stage.high_s:
            figure = f"{stage.low_s:.0f} s"
        else:
            figure = f"{stage.low_s:.0f} to {stage.high_s:.0f} s"
        lines.append(f"  {stage.name}: {figure} ({stage.kind}, {stage.read.isoformat()}: {stage.source})")
    total = report.budget.total
    lines.append(
        f"  total: {total[0] / 60:.1f} to {total[1] / 60:.1f} min"
        if total
        else "  total: unknown (a stage is unknown)"
    )
    h = report.holdings
    if h.min_replicas > 0:
        lines.append(
            f"  minReplicas {h.min_replicas}: no request waits for a cold start (a new replica's node boots while the others answer)"
        )
    for timeout in report.timeouts:
        ok = total is None or timeout.seconds >= total[1]
        lines.append(
            f"  timeout {timeout.name}: {timeout.seconds} s ({timeout.source}){'' if ok else ' SHORTER THAN THE BUDGET'}"
        )
    return lines


def break_even_lines(report: Report) -> list[str]:
    b = report.break_even
    if b is None:
        missing = []
        if report.estimate.gpu_node_per_hour is None:
            missing.append("the GPU node's price" if report.estimate.gpu_node_type else "a GPU pool")
        if report.budget.total is None:
            missing.append("the cold start's length")
        if report.unneeded_s is None:
            missing.append(f"the node scale-down delay ({report.unneeded_source})")
        return [f"break-even of minReplicas 0: unknown ({', '.join(missing) or 'a figure is missing'})"]
    return [
        f"break-even of minReplicas 0 against one warm replica ({money(b.warm_per_day)} a day for one "
        f"{report.estimate.gpu_node_type}): below {b.requests_per_day:.0f} requests a day, arriving apart, "
        f"scaling to zero costs less",
        f"  each such request keeps a GPU node {b.session_s / 60:.0f} min: the cold start's upper end, "
        f"{report.idle_s // 60} min idle before the pod goes ({report.idle_source}) and "
        f"{(report.unneeded_s or 0) // 60} min before the empty node goes ({report.unneeded_source}); "
        "requests that come together share one",
    ]


def text(report: Report) -> str:
    out = [*cost_lines(report), "", *cold_start_lines(report), "", *break_even_lines(report)]
    out += [f"warning: {w}" for w in report.warnings]
    return "\n".join(out)


def outputs(report: Report) -> dict[str, Any]:
    """The stack output `costs`: the same figures as the printed table, for `pulumi preview` and scripts."""
    found = report.estimate
    total = report.budget.total
    return {
        "cloud": found.cloud,
        "region": found.region,
        "pricesRead": [d.isoformat() for d in report.dates] if report.dates else [],
        "lines": [
            {"line": line.group, "what": line.what, **{s: line.per_hour(i) for i, s in enumerate(SCENARIOS)}}
            for line in found.lines
        ],
        "totals": totals(found),
        "coldStartSeconds": list(total) if total else None,
        "breakEvenRequestsPerDay": round(report.break_even.requests_per_day) if report.break_even else None,
        "warnings": report.warnings,
    }
