"""The preflight, offline: recorded CLI answers in, PASS/FAIL lines with their fixes out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from infra.preflight import Answer, Check, run_cli
from infra.preflight.__main__ import main, preflight

# Recorded in the shape the AWS CLI answers (the documentation's examples, account 123456789012).
IDENTITY = {"UserId": "AIDA", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/dev"}
VERSIONS = {
    "clusterVersions": [
        {"clusterVersion": "1.35", "versionStatus": "STANDARD_SUPPORT"},
        {"clusterVersion": "1.34", "versionStatus": "EXTENDED_SUPPORT"},
    ]
}
G5 = {"InstanceTypes": [{"InstanceType": "g5.xlarge", "VCpuInfo": {"DefaultVCpus": 4}}]}
OFFERED = {"InstanceTypeOfferings": [{"Location": "us-east-1a"}, {"Location": "us-east-1b"}]}


def quota(value: float) -> dict[str, Any]:
    return {"Quota": {"QuotaCode": "L-DB2E81BA", "Value": value}}


class Recorded:
    """Answers by the CLI's sub-command (`aws sts get-caller-identity` -> "sts get-caller-identity")."""

    def __init__(self, **answers: Answer) -> None:
        self.answers = {key.replace("_", "-").replace("--", " "): value for key, value in answers.items()}
        self.asked: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> Answer:
        self.asked.append(list(argv))
        return self.answers.get(f"{argv[1]} {argv[2]}", Answer(False, None, "no recorded answer"))


def healthy(quota_value: float = 8) -> Recorded:
    return Recorded(
        sts__get_caller_identity=Answer(True, IDENTITY),
        eks__describe_cluster_versions=Answer(True, VERSIONS),
        ec2__describe_instance_types=Answer(True, G5),
        service_quotas__get_service_quota=Answer(True, quota(quota_value)),
        ec2__describe_instance_type_offerings=Answer(True, OFFERED),
    )


def by_name(found: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in found}


def test_a_ready_account_passes_every_check() -> None:
    found = preflight("aws", healthy())
    assert [c.name for c in found] == [
        "credentials",
        "EKS 1.35 in us-east-1",
        "GPU quota for g5.xlarge",
        "g5.xlarge offered in us-east-1",
        "price of t3.large on-demand in us-east-1",
        "price of g5.xlarge on-demand in us-east-1",
    ]
    assert all(c.passed for c in found), [c.line() for c in found]


def test_a_gpu_quota_of_zero_fails_with_the_quota_page_and_the_vcpus_to_ask_for() -> None:
    check = by_name(preflight("aws", healthy(quota_value=0)))["GPU quota for g5.xlarge"]
    assert not check.passed
    assert "L-DB2E81BA" in check.fix and "servicequotas" in check.fix and "at least 4 vCPUs" in check.fix
    assert "[FAIL]" in check.line() and "fix:" in check.line()


def test_missing_credentials_stop_the_preflight_with_the_login_command() -> None:
    found = preflight(
        "aws", Recorded(sts__get_caller_identity=Answer(False, None, "Unable to locate credentials"))
    )
    assert len(found) == 1 and not found[0].passed
    assert "aws sso login" in found[0].fix


def test_a_minor_no_longer_in_standard_support_in_the_region_names_the_setting() -> None:
    recorded = healthy()
    recorded.answers["eks describe-cluster-versions"] = Answer(
        True, {"clusterVersions": [{"clusterVersion": "1.35", "versionStatus": "EXTENDED_SUPPORT"}]}
    )
    check = by_name(preflight("aws", recorded))["EKS 1.35 in us-east-1"]
    assert not check.passed and "liftoff:awsKubernetesVersion" in check.fix


def test_an_instance_type_offered_in_no_zone_fails() -> None:
    recorded = healthy()
    recorded.answers["ec2 describe-instance-type-offerings"] = Answer(True, {"InstanceTypeOfferings": []})
    assert not by_name(preflight("aws", recorded))["g5.xlarge offered in us-east-1"].passed


def test_every_call_names_the_stacks_region() -> None:
    recorded = healthy()
    preflight("aws", recorded)
    assert recorded.asked and all("us-east-1" in argv for argv in recorded.asked)


def test_a_missing_cli_is_a_failed_answer_not_a_crash() -> None:
    answer = run_cli(["liftoff-no-such-cli-anywhere", "sts", "get-caller-identity"])
    assert not answer.ok and "not installed" in answer.error


def test_the_command_exits_1_on_a_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("infra.preflight.__main__.run_cli", healthy(quota_value=0))
    assert main(["--stack", "aws"]) == 1
    assert "[FAIL] GPU quota for g5.xlarge" in capsys.readouterr().out
