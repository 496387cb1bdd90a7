"""README's cost table is the generated one: no hand-kept figure can drift from what `make plan` prints."""

from __future__ import annotations

import datetime as dt

from conftest import PlanFor

from infra.costs import readme


def test_readme_cost_table_is_what_the_plans_price(plan_for: PlanFor) -> None:
    current = readme.README.read_text()
    generated = readme.table(plan_for, dt.date(2026, 12, 7))
    assert readme.rewrite(current, generated) == current, (
        "README.md's cost table is out of date: run `python -m infra.costs readme`"
    )


def test_the_generated_table_has_a_row_per_cloud_stack_from_the_plans(plan_for: PlanFor) -> None:
    generated = readme.table(plan_for, dt.date(2026, 12, 7))
    for stack, gpu in (("aws", "g5.xlarge"), ("gcp", "g2-standard-8"), ("azure", "Standard_NC4as_T4_v3")):
        assert f"| `{stack}` | `{gpu}` |" in generated
    changed = readme.table(
        lambda stack, overrides: (
            plan_for(stack, {**overrides, "awsGpuInstanceTypes": ["g6.xlarge"]})
            if stack == "aws"
            else plan_for(stack, overrides)
        ),
        dt.date(2026, 12, 7),
    )
    assert "| `aws` | `g6.xlarge` |" in changed and changed != generated
