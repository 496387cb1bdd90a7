"""The price checks of the preflight: each instance type the stack runs, priced by the provider's price list
API with the user's own CLI, beside the row of infra/costs/prices.yaml the plan uses.

A price never blocks a deploy: every check passes, and its detail says whether the table agrees, differs
(refresh the table: docs/costs.md#refreshing-the-price-table) or lacks the row. AWS: the Price List API
(`aws pricing get-products`, answered from us-east-1). Azure: the public Retail Prices API through `az rest`.
Google Cloud's Billing Catalog prices a G2 VM as separate vCPU, memory and GPU SKUs, so no one figure per
machine type comes back to compare; its check says where to look instead.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable
from typing import Any

from infra.clouds.aws.settings import AwsSettings
from infra.clouds.azure.settings import AzureSettings
from infra.clouds.gcp.settings import GcpSettings
from infra.costs.prices import PriceTable
from infra.preflight import Check, Runner

PRICING_ENDPOINT_REGION = "us-east-1"
"""The AWS Price List API answers from a few regions only; this one lists every region's prices."""
AZURE_RETAIL_PRICES = "https://prices.azure.com/api/retail/prices"
TOLERANCE = 0.0005
"""Dollars an hour: list prices are quoted to four or more decimals; closer than this is the same price."""


def _compare(
    table: PriceTable,
    cloud: str,
    region: str,
    instance_type: str,
    capacity: str,
    listed: float | None,
    api: str,
    error: str,
) -> Check:
    name = f"price of {instance_type} {capacity} in {region}"
    row = table.find(cloud, region, f"instance/{instance_type}", capacity)
    kept = (
        f"table ${row.usd:.4f}/h (read {row.read.isoformat()})"
        if row is not None and row.usd is not None
        else "table: unknown"
    )
    if listed is None:
        return Check(
            name, True, f"{kept}; {api} gave no price ({error or 'no matching product'}): the table stands"
        )
    if row is None or row.usd is None:
        verdict = "add it to infra/costs/prices.yaml with today's date and the API as its source"
    elif abs(row.usd - listed) <= TOLERANCE:
        verdict = "the same"
    else:
        verdict = f"differs by {listed - row.usd:+.4f}/h: refresh infra/costs/prices.yaml (docs/costs.md)"
    return Check(name, True, f"{kept}; {api} ${listed:.4f}/h: {verdict}")


# --- aws -------------------------------------------------------------------------------------------------


def aws_checks(aws: AwsSettings, run: Runner, table: PriceTable | None = None) -> list[Check]:
    table = table or PriceTable.load()
    wanted = [(aws.system_instance_type, "on-demand")]
    if aws.gpu_pool is not None:
        wanted.append((aws.gpu_pool.instance_types[0], "spot" if aws.gpu_pool.spot else "on-demand"))
    found = []
    for instance_type, capacity in wanted:
        if capacity == "spot":
            found.append(
                Check(
                    f"price of {instance_type} spot in {aws.region}",
                    True,
                    "spot prices move every few minutes and the Price List API has none: "
                    f"aws ec2 describe-spot-price-history --instance-types {instance_type} --region {aws.region}",
                )
            )
            continue
        answer = run(
            [
                "aws",
                "pricing",
                "get-products",
                "--service-code",
                "AmazonEC2",
                "--filters",
                *(
                    f"Type=TERM_MATCH,Field={field},Value={value}"
                    for field, value in (
                        ("instanceType", instance_type),
                        ("regionCode", aws.region),
                        ("operatingSystem", "Linux"),
                        ("tenancy", "Shared"),
                        ("preInstalledSw", "NA"),
                        ("capacitystatus", "Used"),
                    )
                ),
                "--region",
                PRICING_ENDPOINT_REGION,
                "--output",
                "json",
            ]
        )
        listed = _aws_on_demand(answer.data) if answer.ok else None
        found.append(
            _compare(
                table, "aws", aws.region, instance_type, capacity, listed, "AWS Price List API", answer.error
            )
        )
    return found


def _aws_on_demand(data: Any) -> float | None:
    """The hourly USD price of the one on-demand term in `get-products`' answer (each PriceList entry is a
    JSON document in a string)."""
    prices = []
    for entry in (data or {}).get("PriceList", []):
        product = json.loads(entry) if isinstance(entry, str) else entry
        for term in (product.get("terms") or {}).get("OnDemand", {}).values():
            for dimension in (term.get("priceDimensions") or {}).values():
                if dimension.get("unit") == "Hrs" and "USD" in (dimension.get("pricePerUnit") or {}):
                    prices.append(float(dimension["pricePerUnit"]["USD"]))
    positive = sorted({p for p in prices if p > 0})
    return positive[0] if len(positive) == 1 else None


# --- azure -----------------------------------------------------------------------------------------------


def azure_checks(azure: AzureSettings, run: Runner, table: PriceTable | None = None) -> list[Check]:
    table = table or PriceTable.load()
    wanted = [(azure.system_vm_size, "on-demand")]
    if azure.gpu_pool:
        wanted.append((azure.gpu_vm_size, "spot" if azure.gpu_spot else "on-demand"))
    found = []
    for size, capacity in wanted:
        query = (
            f"armRegionName eq '{azure.location}' and armSkuName eq '{size}' and priceType eq 'Consumption'"
        )
        url = f"{AZURE_RETAIL_PRICES}?{urllib.parse.urlencode({'$filter': query})}"
        answer = run(
            ["az", "rest", "--method", "get", "--skip-authorization-header", "--url", url, "-o", "json"]
        )
        listed = _azure_linux(answer.data, capacity) if answer.ok else None
        found.append(
            _compare(
                table,
                "azure",
                azure.location,
                size,
                capacity,
                listed,
                "Azure Retail Prices API",
                answer.error,
            )
        )
    return found


def _azure_linux(data: Any, capacity: str) -> float | None:
    """The Linux pay-as-you-go (or Spot) hourly price: the Windows meters are their own products, and Spot
    and Low Priority meters are named in skuName."""
    prices = []
    for item in _items(data):
        if "Windows" in str(item.get("productName", "")) or item.get("unitOfMeasure") != "1 Hour":
            continue
        sku = str(item.get("skuName", ""))
        is_spot, low_priority = sku.endswith("Spot"), "Low Priority" in sku
        if low_priority or is_spot != (capacity == "spot"):
            continue
        prices.append(float(item.get("retailPrice", 0)))
    found = sorted({p for p in prices if p > 0})
    return found[0] if len(found) == 1 else None


def _items(data: Any) -> Iterable[dict[str, Any]]:
    return [i for i in (data or {}).get("Items", []) if isinstance(i, dict)]


# --- gcp -------------------------------------------------------------------------------------------------


def gcp_checks(gcp: GcpSettings, run: Runner) -> list[Check]:
    return [
        Check(
            "prices from the Cloud Billing Catalog",
            True,
            "not compared: a G2 or E2 VM is billed as vCPU, memory and GPU SKUs, not one price per machine type; "
            "see https://cloud.google.com/compute/vm-instance-pricing and refresh infra/costs/prices.yaml by hand",
        )
    ]
