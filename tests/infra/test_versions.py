"""The dated version table (infra/versions.py): defaults in standard support today, refusals past the end,
warnings 60 days ahead, and Pulumi.yaml's defaults the table's."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from infra import versions
from infra.versions import DEFAULT_MINOR, KUBERNETES, READ, WARN_DAYS

ROOT = Path(__file__).resolve().parents[2]
DECLARED = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
KEYS = {"aws": "awsKubernetesVersion", "gcp": "gcpKubernetesVersion", "azure": "azureKubernetesVersion"}


@pytest.mark.parametrize("cloud", sorted(KUBERNETES))
def test_each_clouds_default_minor_is_in_standard_support_on_the_day_the_table_was_read(cloud: str) -> None:
    pin = KUBERNETES[cloud][DEFAULT_MINOR]
    assert pin.standard_support_ends > READ
    assert DECLARED[KEYS[cloud]]["default"] == DEFAULT_MINOR
    stack_file = yaml.safe_load((ROOT / f"Pulumi.{cloud}.yaml").read_text())["config"]
    assert stack_file.get(f"liftoff:{KEYS[cloud]}", DEFAULT_MINOR) in versions.supported_minors(
        cloud, READ, extended=False
    )


@pytest.mark.parametrize("cloud", sorted(KUBERNETES))
def test_every_pin_carries_its_source_and_the_day_it_was_read(cloud: str) -> None:
    assert len(KUBERNETES[cloud]) >= 2, "two minors at least: the one in use and the one to move to"
    for pin in KUBERNETES[cloud].values():
        assert pin.source.startswith("https://") and pin.read <= date(2026, 12, 7)


def test_a_minor_is_refused_from_the_first_day_past_its_standard_support_unless_extended() -> None:
    ends = KUBERNETES["aws"]["1.34"].standard_support_ends
    assert versions.refusal("aws", "1.34", ends - timedelta(days=1), extended=False) is None
    refused = versions.refusal("aws", "1.34", ends, extended=False)
    assert refused is not None and "1.35" in refused and "allowExtendedSupport" in refused
    assert versions.refusal("aws", "1.34", ends, extended=True) is None
    assert versions.refusal("azure", "1.35.2", READ, extended=False) is None, (
        "a full version is judged by its minor"
    )


def test_a_pin_ending_within_the_warning_window_is_warned_about_and_not_before() -> None:
    ends = KUBERNETES["gcp"]["1.35"].standard_support_ends
    inside = [
        w
        for w in versions.expiry_warnings("gcp", "1.35", ends - timedelta(days=WARN_DAYS))
        if "1.35 on gcp" in w
    ]
    outside = [
        w
        for w in versions.expiry_warnings("gcp", "1.35", ends - timedelta(days=WARN_DAYS + 1))
        if "1.35 on gcp" in w
    ]
    assert len(inside) == 1 and str(ends) in inside[0]
    assert outside == []


def test_a_chart_tested_short_of_the_clusters_minor_is_warned_about() -> None:
    assert any("keda" in w for w in versions.expiry_warnings("azure", "1.36", READ))
    assert not any("keda" in w for w in versions.expiry_warnings("azure", "1.35", READ))


def test_keda_is_tested_on_every_clouds_default_minor() -> None:
    oldest, newest, _ = versions.CHART_KUBERNETES_RANGES["keda"]
    assert (
        versions.minor_number(oldest) <= versions.minor_number(DEFAULT_MINOR) <= versions.minor_number(newest)
    )


PLAN_AZURE = (sys.executable, "-m", "infra.plan", "--stack", "azure", "--quiet")


def test_make_plan_prints_the_warnings() -> None:
    done = subprocess.run(
        # Azure 1.36 is offered, and past KEDA's tested range (1.33 to 1.35).
        [*PLAN_AZURE, "--overrides", '{"azureKubernetesVersion": "1.36"}'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "the keda chart is tested on Kubernetes" in done.stderr + done.stdout


def test_gke_dates_are_the_schedules_and_1_35_is_not_refused_before_its_end() -> None:
    """GKE's schedule: 1.34 standard support ends 2026-10-01, 1.35 on 2027-04-11; a wrong date would refuse
    1.35 weeks early."""
    assert KUBERNETES["gcp"]["1.34"].standard_support_ends == date(2026, 10, 1)
    assert KUBERNETES["gcp"]["1.35"].standard_support_ends == date(2027, 4, 11)
    assert versions.refusal("gcp", "1.35", date(2027, 4, 10), extended=False) is None
    assert versions.refusal("gcp", "1.35", date(2027, 4, 11), extended=False) is not None


def test_no_pinned_chart_ships_an_app_version_below_its_dated_floor() -> None:
    from infra.addons import charts

    assert charts.below_floor() == []
    assert "traefik" in charts.APP_VERSION_FLOORS, "the internet-facing proxy has a floor"
    floor = charts.APP_VERSION_FLOORS["traefik"]
    assert floor.recorded <= date.today() and floor.why.startswith("https://")


def test_the_floor_check_refuses_the_traefik_that_main_pinned() -> None:
    """Chart 37.3.0 shipped Traefik v3.6.0, before the v3.6.12 fixes."""
    from dataclasses import replace

    from infra.addons import charts

    old = replace(charts.TRAEFIK, version="37.3.0", app_version="v3.6.0")
    (problem,) = charts.below_floor((old,))
    assert "v3.6.0" in problem and "v3.6.12" in problem
    assert charts.below_floor((replace(charts.TRAEFIK, app_version=None),)), "an unread app version fails"
    assert charts.version_key("v3.6.12") > charts.version_key("v3.6.9")


def test_every_chart_pin_says_when_and_where_it_was_read() -> None:
    from infra.addons import charts

    for chart in charts.ALL:
        assert chart.read is not None and chart.read <= date(2026, 12, 7), chart.name
        assert chart.source, chart.name
