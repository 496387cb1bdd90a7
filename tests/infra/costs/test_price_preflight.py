"""make preflight's price checks, offline: the providers' price list answers (recorded in
tests/infra/preflight_answers/prices.json, where their shape came from is in the file) beside the table."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.plan.config import stack_config
from infra.preflight import Answer, Check
from infra.preflight.__main__ import preflight
from infra.settings import ConfigSource, load_settings

ANSWERS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "preflight_answers" / "prices.json").read_text()
)


class PriceLists:
    """Answers the price list calls only; every other call fails, as a CLI with no account would."""

    def __init__(self, aws: dict[str, Any] | None = None, azure: dict[str, Any] | None = None) -> None:
        self.aws = copy.deepcopy(ANSWERS["aws"] if aws is None else aws)
        self.azure = copy.deepcopy(ANSWERS["azure"] if azure is None else azure)
        self.asked: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> Answer:
        self.asked.append(list(argv))
        if argv[:3] == ["aws", "sts", "get-caller-identity"]:
            return Answer(True, {"Arn": "arn:aws:iam::123456789012:user/dev"})
        if argv[:3] == ["aws", "pricing", "get-products"]:
            itype = next(a.rsplit("=", 1)[1] for a in argv if "Field=instanceType" in a)
            answer = self.aws.get(itype)
            return Answer(True, answer) if answer else Answer(False, None, "no recorded answer")
        if argv[:2] == ["az", "account"]:
            return Answer(True, {"user": {"name": "dev"}, "state": "Enabled", "name": "s", "id": "0"})
        if argv[:3] == ["az", "rest", "--method"]:
            return Answer(True, self.azure)
        return Answer(False, None, "no recorded answer")


def prices(found: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in found if c.name.startswith("price")}


def test_aws_lists_each_instance_type_beside_the_table() -> None:
    found = prices(preflight("aws", PriceLists()))
    gpu = found["price of g5.xlarge on-demand in us-east-1"]
    assert (
        gpu.passed and "table $1.0060/h (read 2026-12-04)" in gpu.detail and gpu.detail.endswith("the same")
    )
    system = found["price of t3.large on-demand in us-east-1"]
    assert "table: unknown" in system.detail and "$0.0900/h" in system.detail and "add it" in system.detail


def test_aws_a_moved_price_says_by_how_much_and_to_refresh_the_table() -> None:
    moved = copy.deepcopy(ANSWERS["aws"])
    moved["g5.xlarge"]["PriceList"] = [
        m.replace("1.0060000000", "1.1000000000") for m in moved["g5.xlarge"]["PriceList"]
    ]
    gpu = prices(preflight("aws", PriceLists(aws=moved)))["price of g5.xlarge on-demand in us-east-1"]
    assert gpu.passed, "a price never blocks a deploy"
    assert "differs by +0.0940/h" in gpu.detail and "prices.yaml" in gpu.detail


def test_aws_no_answer_keeps_the_tables_figure() -> None:
    gpu = prices(preflight("aws", PriceLists(aws={})))["price of g5.xlarge on-demand in us-east-1"]
    assert gpu.passed and "the table stands" in gpu.detail and "no recorded answer" in gpu.detail


def test_aws_the_price_call_filters_on_the_stacks_region_and_linux() -> None:
    recorded = PriceLists()
    preflight("aws", recorded)
    (call, *_) = [argv for argv in recorded.asked if argv[1] == "pricing"]
    assert "Type=TERM_MATCH,Field=regionCode,Value=us-east-1" in call
    assert "Type=TERM_MATCH,Field=operatingSystem,Value=Linux" in call


def test_azure_picks_the_linux_pay_as_you_go_meter() -> None:
    found = prices(preflight("azure", PriceLists()))
    gpu = found["price of Standard_NC4as_T4_v3 on-demand in eastus"]
    assert "$0.6000/h" in gpu.detail and "table: unknown" in gpu.detail


def test_azure_spot_picks_the_spot_meter() -> None:
    from infra.clouds.azure.settings import AzureSettings
    from infra.preflight import prices as price_checks

    config = {**stack_config("azure"), "liftoff:azureGpuSpot": "true"}
    azure = load_settings(ConfigSource.from_dict(config)).cloud_settings_as(AzureSettings)
    found = {c.name: c for c in price_checks.azure_checks(azure, PriceLists())}
    assert "$0.1200/h" in found["price of Standard_NC4as_T4_v3 spot in eastus"].detail


def test_gcp_says_where_to_compare_instead() -> None:
    from infra.clouds.gcp.settings import GcpSettings
    from infra.preflight import prices as price_checks

    gcp = load_settings(ConfigSource.from_dict(stack_config("gcp"))).cloud_settings_as(GcpSettings)
    (check,) = price_checks.gcp_checks(gcp, lambda argv: Answer(False, None, "no"))
    assert check.passed and "not compared" in check.detail and "vm-instance-pricing" in check.detail
