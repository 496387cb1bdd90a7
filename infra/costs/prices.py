"""The price table (infra/costs/prices.yaml): every price the plan shows comes from one of its rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PRICES_FILE = Path(__file__).with_name("prices.yaml")
STALE_AFTER_DAYS = 90
HOURS_PER_MONTH = 730
"""The clouds' own convention for a month of hourly billing (8,760 hours a year / 12)."""
UNITS = ("hour", "gb-month", "gb")


@dataclass(frozen=True)
class Price:
    cloud: str
    region: str
    item: str
    capacity: str
    """on-demand or spot for instances; "" for the rest."""
    unit: str
    usd: float | None
    """None: no price could be had from a public page on the read date (the row's note says why)."""
    read: dt.date
    kind: str
    source: str
    note: str = ""

    @property
    def per_hour(self) -> float | None:
        """The price of one unit held for an hour: gb-month prices are spread over the month's hours."""
        if self.usd is None or self.unit == "gb":
            return None
        return self.usd / HOURS_PER_MONTH if self.unit == "gb-month" else self.usd


class PriceTable:
    def __init__(self, rows: list[Price]) -> None:
        self.rows = rows

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> PriceTable:
        raw: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
        rows = []
        for number, row in enumerate(raw.get("rows") or [], start=1):
            missing = {"cloud", "region", "item", "unit", "read", "kind", "source"} - set(row)
            if missing or row["unit"] not in UNITS or "usd" not in row:
                raise ValueError(
                    f"{path.name} row {number}: needs cloud, region, item, unit ({' | '.join(UNITS)}), "
                    f"usd (a number or null), read, kind and source; missing {sorted(missing) or 'none'}"
                )
            read = row["read"]
            rows.append(
                Price(
                    cloud=str(row["cloud"]),
                    region=str(row["region"]),
                    item=str(row["item"]),
                    capacity=str(row.get("capacity", "")),
                    unit=str(row["unit"]),
                    usd=None if row["usd"] is None else float(row["usd"]),
                    read=read if isinstance(read, dt.date) else dt.date.fromisoformat(str(read)),
                    kind=str(row["kind"]),
                    source=str(row["source"]),
                    note=str(row.get("note", "")),
                )
            )
        return cls(rows)

    def find(self, cloud: str, region: str, item: str, capacity: str = "") -> Price | None:
        """The row for exactly this item in this region, or None: a region or type not in the table is
        unknown, never priced from another region's row."""
        for row in self.rows:
            if (row.cloud, row.region, row.item, row.capacity) == (cloud, region, item, capacity):
                return row
        return None

    def dates(self, used: list[Price]) -> tuple[dt.date, dt.date] | None:
        read = [p.read for p in used]
        return (min(read), max(read)) if read else None


def staleness_warning(used: list[Price], today: dt.date) -> str | None:
    """A warning when a price the plan used was read more than STALE_AFTER_DAYS ago."""
    if not used:
        return None
    oldest = min(p.read for p in used)
    age = (today - oldest).days
    if age <= STALE_AFTER_DAYS:
        return None
    return (
        f"the oldest price used was read {oldest.isoformat()}, {age} days ago (more than {STALE_AFTER_DAYS}): "
        "refresh infra/costs/prices.yaml (docs/costs.md#refreshing-the-price-table) or run make preflight"
    )
