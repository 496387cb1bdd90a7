"""The cold-start budget: its stages carry their sources and dates, the image pull follows the plan's image,
a weights fetch appears when the weights live outside the image, and the timeouts a waiting request meets
are checked against the total. The break-even moves with the idle period."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import PlanFor

from infra.costs import coldstart, report
from infra.costs.walk import Holdings
from infra.plan import Plan

ZERO = {"minReplicas": 0, "maxReplicas": 2}


def built(plan: Plan, model_dir: Path | None = None) -> report.Report:
    return report.from_plan(plan, model_dir, dt.date(2026, 12, 7))


def test_every_stage_names_its_source_and_date(plan_for: PlanFor) -> None:
    found = built(plan_for("aws", ZERO))
    names = [s.name for s in found.budget.stages]
    assert names[0].startswith("scale-up signal") and names[-1].startswith("model load")
    assert any(n.startswith("node provisioning") for n in names)
    assert any("driver and device plugin" in n for n in names)
    assert any(n.startswith("image pull: download, cuda image") for n in names)
    for stage in found.budget.stages:
        assert stage.source and stage.kind in {"measured", "assumed", "settings", "provider"}
        assert stage.read <= dt.date(2026, 12, 7)
    total = found.budget.total
    assert total is not None and total[0] < total[1]
    assert "2,494 MB" in report.text(found), "the pull is sized from the plan's image (the CUDA image)"


def test_the_kedas_hold_shorter_than_the_budget_warns_and_names_the_setting(plan_for: PlanFor) -> None:
    held = built(plan_for("aws", ZERO))
    assert held.timeouts and not any("KEDA" in w for w in held.warnings)
    short = built(plan_for("aws", {**ZERO, "coldStartTimeoutSeconds": 120}))
    (warning,) = [w for w in short.warnings if "cold-start hold" in w]
    assert "liftoff:coldStartTimeoutSeconds" in warning and "120 s" in warning
    assert any("120 s" in w for w in plan_for("aws", {**ZERO, "coldStartTimeoutSeconds": 120}).warnings), (
        "the program warns too, as pulumi preview would show"
    )


def test_azures_load_balancer_idle_timeout_is_read_from_the_plan(plan_for: PlanFor) -> None:
    # The azure stack raises the load balancer's idle timeout for scale to zero; the budget fits under it.
    found = built(plan_for("azure", ZERO))
    (idle,) = [t for t in found.timeouts if "idle timeout" in t.name]
    assert idle.source == "the plan" and found.budget.total and idle.seconds >= found.budget.total[1]
    assert not [w for w in found.warnings if "idle timeout" in w]


def test_the_providers_idle_timeout_warns_when_the_plan_leaves_it(plan_for: PlanFor) -> None:
    def default(values: dict) -> None:
        values["service"]["annotations"].pop(
            "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout"
        )

    found = built(_with_traefik_values(plan_for("azure", ZERO), default))
    (warning,) = [w for w in found.warnings if "load-balancer/standard" in w]
    assert "240 s" in warning and "provider default" in warning
    # With a warm replica no request waits through a cold start: the timeout is shown, not warned about.
    assert not [w for w in built(plan_for("azure")).warnings if "idle timeout" in w]


def test_weights_outside_the_image_add_a_fetch_stage_sized_from_the_folder(tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.safetensors").write_bytes(b"\0" * 2_500_000)
    (tmp_path / "model.json").write_text(json.dumps({"name": "big", "weights": "weights/"}))
    weights = coldstart.weights_outside_image(tmp_path)
    assert weights == coldstart.Weights("weights/", 2_500_000)
    h = Holdings(cloud="aws", image_variant="cuda")
    with_weights = coldstart.budget(h, weights)
    without = coldstart.budget(h, None)
    (fetch,) = [s for s in with_weights.stages if s.name.startswith("weights fetch")]
    assert fetch.low_s == pytest.approx(2.5 / 125)
    assert with_weights.total and without.total
    assert with_weights.total[1] - without.total[1] == pytest.approx(fetch.high_s or 0)


def test_weights_at_a_uri_without_a_local_manifest_are_unknown_not_guessed(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text(json.dumps({"name": "big", "weights": "s3://bucket/big/"}))
    weights = coldstart.weights_outside_image(tmp_path)
    assert weights == coldstart.Weights("s3://bucket/big/", None)
    found = coldstart.budget(Holdings(cloud="aws", image_variant="cuda"), weights)
    assert found.total is None


def test_a_model_in_the_image_has_no_fetch_stage(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text(json.dumps({"name": "small"}))
    assert coldstart.weights_outside_image(tmp_path) is None
    assert coldstart.weights_outside_image(None) is None


def test_break_even_follows_the_idle_period_and_the_gpu_price(plan_for: PlanFor) -> None:
    found = built(plan_for("aws", ZERO))
    assert found.break_even is not None and found.budget.total is not None
    session = found.budget.total[1] + 900 + 600
    assert found.break_even.session_s == pytest.approx(session)
    assert found.break_even.requests_per_day == pytest.approx(86400 / session)
    assert found.break_even.warm_per_day == pytest.approx(1.006 * 24)
    shorter = built(plan_for("aws", {**ZERO, "idleMinutes": 5})).break_even
    assert shorter is not None and shorter.requests_per_day > found.break_even.requests_per_day
    assert "break-even of minReplicas 0" in report.text(found)


def test_break_even_is_unknown_without_a_gpu_price(plan_for: PlanFor) -> None:
    found = built(plan_for("gcp", ZERO))
    assert found.break_even is None
    assert "break-even of minReplicas 0: unknown (the GPU node's price" in report.text(found)


def _with_traefik_values(plan: Plan, change) -> Plan:  # type: ignore[no-untyped-def]
    import copy
    import dataclasses

    resources = []
    for r in plan.resources:
        if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs.get("chart") == "traefik":
            inputs = copy.deepcopy(r.inputs)
            change(inputs["values"])
            r = dataclasses.replace(r, inputs=inputs)
        resources.append(r)
    return dataclasses.replace(plan, resources=resources)


def test_a_shorter_idle_timeout_set_in_the_plan_warns(plan_for: PlanFor) -> None:
    def shorter(values: dict) -> None:
        values["service"]["annotations"][
            "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout"
        ] = "4"

    found = built(_with_traefik_values(plan_for("azure", ZERO), shorter))
    assert [t.seconds for t in found.timeouts if "idle timeout" in t.name] == [240]
    assert [w for w in found.warnings if "idle timeout" in w]


def test_an_ingress_write_timeout_shorter_than_the_budget_warns(plan_for: PlanFor) -> None:
    def short(values: dict) -> None:
        values["ports"] = {"web": {"transport": {"respondingTimeouts": {"writeTimeout": "60s"}}}}

    found = built(_with_traefik_values(plan_for("aws", ZERO), short))
    (warning,) = [w for w in found.warnings if "writeTimeout" in w]
    assert "traefik web writeTimeout is 60 s" in warning
