"""The gcp and azure preflights, offline: recorded CLI answers (tests/infra/preflight_answers/, where their
shape came from is in each file) in, PASS/FAIL lines with their fixes out."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from infra.preflight import Answer, Check
from infra.preflight.__main__ import main, preflight

ANSWERS = Path(__file__).parent / "preflight_answers"


def recorded_answers(cloud: str) -> dict[str, Any]:
    answers: dict[str, Any] = json.loads((ANSWERS / f"{cloud}.json").read_text())["answers"]
    return copy.deepcopy(answers)


class Recorded:
    """Answers by the CLI's first two words after its name (`gcloud compute regions describe` -> "compute
    regions"); a key set to an Answer stands for a failed call."""

    def __init__(self, cloud: str) -> None:
        self.answers: dict[str, Any] = recorded_answers(cloud)
        self.asked: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> Answer:
        self.asked.append(list(argv))
        answer = self.answers.get(f"{argv[1]} {argv[2]}")
        if answer is None:
            return Answer(False, None, "no recorded answer")
        return answer if isinstance(answer, Answer) else Answer(True, answer)


def by_name(found: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in found}


def failed(found: list[Check]) -> list[str]:
    return [c.name for c in found if not c.passed]


# --- gcp ---------------------------------------------------------------------------------------------------

GCP_CHECKS = [
    "credentials",
    "project liftoff-example",
    "APIs enabled",
    "GKE 1.35 on REGULAR in us-central1-a",
    "GPU quota NVIDIA_L4_GPUS in us-central1",
    "GPU quota GPUS_ALL_REGIONS in all regions",
    "g2-standard-8 with nvidia-l4 in us-central1-a",
    "prices from the Cloud Billing Catalog",
]


def test_gcp_a_ready_project_passes_every_check() -> None:
    found = preflight("gcp", Recorded("gcp"))
    assert [c.name for c in found] == GCP_CHECKS
    assert all(c.passed for c in found), [c.line() for c in found]


def test_gcp_every_project_call_names_the_stacks_project() -> None:
    recorded = Recorded("gcp")
    preflight("gcp", recorded)
    asked = [argv for argv in recorded.asked if argv[1] != "auth"]
    assert asked and all("liftoff-example" in argv for argv in asked)
    assert next(argv[3:5] for argv in asked if argv[1] == "container") == ["--zone", "us-central1-a"], (
        "a zonal cluster asks its zone's server config"
    )


def test_gcp_no_active_account_stops_with_both_logins() -> None:
    recorded = Recorded("gcp")
    recorded.answers["auth list"] = []
    found = preflight("gcp", recorded)
    assert failed(found) == ["credentials"] and len(found) == 1
    assert "gcloud auth login" in found[0].fix and "application-default" in found[0].fix


def test_gcp_a_minor_the_channel_no_longer_offers_names_the_offered_minors() -> None:
    recorded = Recorded("gcp")
    regular = recorded.answers["container get-server-config"]["channels"][1]
    regular["validVersions"] = ["1.36.1-gke.1100000"]
    check = by_name(preflight("gcp", recorded))["GKE 1.35 on REGULAR in us-central1-a"]
    assert not check.passed
    assert "liftoff:gcpKubernetesVersion" in check.fix and "1.36" in check.fix


def test_gcp_zero_l4_quota_fails_with_the_metric_and_the_quota_page() -> None:
    recorded = Recorded("gcp")
    for quota in recorded.answers["compute regions"]["quotas"]:
        if quota["metric"] == "NVIDIA_L4_GPUS":
            quota["limit"] = 0.0
    found = preflight("gcp", recorded)
    assert failed(found) == ["GPU quota NVIDIA_L4_GPUS in us-central1"]
    check = by_name(found)["GPU quota NVIDIA_L4_GPUS in us-central1"]
    assert (
        "iam-admin/quotas?project=liftoff-example" in check.fix
        and "at least 1 of NVIDIA_L4_GPUS" in check.fix
    )


def test_gcp_quota_in_use_by_other_vms_counts_against_the_pool() -> None:
    recorded = Recorded("gcp")
    recorded.answers["compute project-info"]["quotas"][0]["usage"] = 1.0
    check = by_name(preflight("gcp", recorded))["GPU quota GPUS_ALL_REGIONS in all regions"]
    assert not check.passed and "0 free of 1" in check.detail


def test_gcp_a_machine_type_missing_from_the_zone_names_the_zones_that_have_it() -> None:
    recorded = Recorded("gcp")
    recorded.answers["compute machine-types"] = [
        m for m in recorded.answers["compute machine-types"] if m["zone"] != "us-central1-a"
    ]
    check = by_name(preflight("gcp", recorded))["g2-standard-8 with nvidia-l4 in us-central1-a"]
    assert not check.passed and "not offered in us-central1-a" in check.detail
    assert "us-central1-b" in check.fix and "gcp:zone" in check.fix


def test_gcp_a_disabled_api_fails_with_the_enable_command() -> None:
    recorded = Recorded("gcp")
    recorded.answers["services list"] = [
        s
        for s in recorded.answers["services list"]
        if s["config"]["name"] != "cloudresourcemanager.googleapis.com"
    ]
    check = by_name(preflight("gcp", recorded))["APIs enabled"]
    assert not check.passed
    assert check.fix == "gcloud services enable cloudresourcemanager.googleapis.com --project liftoff-example"


def test_gcp_exits_1_on_a_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = Recorded("gcp")
    recorded.answers["compute regions"] = Answer(False, None, "Compute Engine API has not been used")
    monkeypatch.setattr("infra.preflight.__main__.run_cli", recorded)
    assert main(["--stack", "gcp"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] GPU quota NVIDIA_L4_GPUS in us-central1: Compute Engine API has not been used" in out
    assert "[PASS] credentials" in out


# --- azure -------------------------------------------------------------------------------------------------

AZURE_CHECKS = [
    "credentials",
    "subscription Liftoff sandbox (00000000-0000-0000-0000-000000000000)",
    "resource providers registered",
    "AKS 1.35 in eastus",
    "Standard_NC4as_T4_v3 offered in eastus",
    "GPU quota for Standard_NC4as_T4_v3",
    "price of Standard_D4s_v5 on-demand in eastus",
    "price of Standard_NC4as_T4_v3 on-demand in eastus",
]


def test_azure_a_ready_subscription_passes_every_check() -> None:
    found = preflight("azure", Recorded("azure"))
    assert [c.name for c in found] == AZURE_CHECKS
    assert all(c.passed for c in found), [c.line() for c in found]


def test_azure_every_regional_call_names_the_stacks_location() -> None:
    recorded = Recorded("azure")
    preflight("azure", recorded)
    regional = [argv for argv in recorded.asked if argv[1] in ("aks", "vm")]
    assert len(regional) == 3 and all(argv[-4:-2] == ["--location", "eastus"] for argv in regional)


def test_azure_no_login_stops_with_az_login() -> None:
    recorded = Recorded("azure")
    recorded.answers["account show"] = Answer(False, None, "Please run 'az login' to setup account.")
    found = preflight("azure", recorded)
    assert failed(found) == ["credentials"] and "az login" in found[0].fix


def test_azure_an_unregistered_provider_fails_with_the_register_command() -> None:
    recorded = Recorded("azure")
    recorded.answers["provider list"][0]["registrationState"] = "NotRegistered"
    check = by_name(preflight("azure", recorded))["resource providers registered"]
    assert not check.passed
    assert check.fix == "az provider register --namespace Microsoft.ContainerService --wait"


def test_azure_a_minor_only_in_long_term_support_is_refused() -> None:
    recorded = Recorded("azure")
    versions = recorded.answers["aks get-versions"]["values"]
    versions[1]["capabilities"]["supportPlan"] = ["AKSLongTermSupport"]
    check = by_name(preflight("azure", recorded))["AKS 1.35 in eastus"]
    assert not check.passed and "liftoff:azureKubernetesVersion" in check.fix
    assert "1.36" not in check.fix, "a preview minor is not offered as the fix"


def test_azure_a_size_restricted_for_the_subscription_fails() -> None:
    recorded = Recorded("azure")
    recorded.answers["vm list-skus"][0]["restrictions"] = [
        {"reasonCode": "NotAvailableForSubscription", "type": "Location", "values": ["eastus"]}
    ]
    check = by_name(preflight("azure", recorded))["Standard_NC4as_T4_v3 offered in eastus"]
    assert not check.passed and "NotAvailableForSubscription" in check.detail


def test_azure_only_the_exact_size_counts_not_one_that_starts_with_its_name() -> None:
    recorded = Recorded("azure")
    recorded.answers["vm list-skus"] = recorded.answers["vm list-skus"][1:]
    assert not by_name(preflight("azure", recorded))["Standard_NC4as_T4_v3 offered in eastus"].passed


def test_azure_a_family_quota_below_one_node_fails_with_the_family_and_the_quota_page() -> None:
    recorded = Recorded("azure")
    recorded.answers["vm list-usage"][1]["limit"] = 0
    check = by_name(preflight("azure", recorded))["GPU quota for Standard_NC4as_T4_v3"]
    assert not check.passed
    assert "Standard NCASv3_T4 Family vCPUs: 0 vCPUs free" in check.detail and "needs 4" in check.detail
    assert "standardNCASv3_T4Family" in check.fix and "Microsoft_Azure_Capacity" in check.fix


def test_azure_spot_asks_the_low_priority_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.plan import config

    spot = {**config.stack_config("azure"), "liftoff:azureGpuSpot": True}
    monkeypatch.setattr("infra.preflight.__main__.stack_config", lambda stack: spot)
    check = by_name(preflight("azure", Recorded("azure")))["GPU quota for Standard_NC4as_T4_v3"]
    assert not check.passed and "Low-priority vCPUs: 3 vCPUs free" in check.detail
    assert "lowPriorityCores" in check.fix
