"""Price what a plan holds in three situations: idle at minReplicas, one GPU replica busy, every pool at its
maximum. Each line is a count of units from the plan times a price from the table; a price the table lacks
leaves the line unknown and the total marked as a lower bound."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from infra.costs.prices import HOURS_PER_MONTH, Price, PriceTable
from infra.costs.walk import Holdings

SCENARIOS = ("idle", "busy", "max")
SCENARIO_TITLES = {
    "idle": "idle at minReplicas",
    "busy": "one GPU replica busy",
    "max": "every pool at its maximum",
}


@dataclass(frozen=True)
class Line:
    group: str
    what: str
    item: str
    counts: tuple[float, float, float]
    """Units held in each scenario (nodes, addresses, GB)."""
    price: Price | None

    def per_hour(self, scenario: int) -> float | None:
        if self.counts[scenario] == 0:
            return 0.0
        if self.price is None or self.price.per_hour is None:
            return None
        return self.counts[scenario] * self.price.per_hour


@dataclass(frozen=True)
class UsageLine:
    group: str
    what: str
    item: str
    price: Price | None


@dataclass
class Estimate:
    cloud: str | None
    region: str | None
    lines: list[Line] = field(default_factory=list)
    usage: list[UsageLine] = field(default_factory=list)
    gpu_node_per_hour: float | None = None
    """One GPU node of the GPU pool, what a warm replica keeps running; None when unknown or no GPU pool."""
    gpu_node_type: str | None = None

    def total_per_hour(self, scenario: int) -> tuple[float, list[str]]:
        """The sum of the known lines, and the groups of the lines left unknown (then the sum is a floor)."""
        known, unknown = 0.0, []
        for line in self.lines:
            cost = line.per_hour(scenario)
            if cost is None:
                unknown.append(line.group)
            else:
                known += cost
        return known, sorted(set(unknown))

    @property
    def prices_used(self) -> list[Price]:
        used = [line.price for line in self.lines if line.price is not None]
        used += [u.price for u in self.usage if u.price is not None]
        return [p for p in used if p.usd is not None]


def image_gb(image_mb: float | None) -> float | None:
    return None if image_mb is None else image_mb / 1000


def estimate(h: Holdings, table: PriceTable, image_mb: float | None) -> Estimate:
    found = Estimate(h.cloud, h.region)
    if h.cloud is None or h.region is None:
        return found
    cloud, region = h.cloud, h.region

    def price(item: str, capacity: str = "") -> Price | None:
        return table.find(cloud, region, item, capacity)

    if h.control_plane is not None:
        cp = h.control_plane
        found.lines.append(Line(cp.group, cp.what, cp.item, (1, 1, 1), price(cp.item)))
    node_counts = [0, 0, 0]
    for pool in sorted(h.pools, key=lambda p: p.role != "system"):
        if pool.role == "gpu":
            counts = (
                h.gpu_nodes_for(h.min_replicas, pool),
                h.gpu_nodes_for(max(1, h.min_replicas), pool),
                pool.max_nodes,
            )
        else:
            counts = (pool.min_nodes, pool.min_nodes, pool.max_nodes)
        capacity = "spot" if pool.spot else "on-demand"
        item = f"instance/{pool.instance_type}"
        group = "GPU nodes" if pool.role == "gpu" else "system nodes"
        gpus = f", {pool.gpus_per_node} GPU each" if pool.gpus_per_node else ""
        node_price = price(item, capacity)
        found.lines.append(
            Line(
                group,
                f"{pool.instance_type} {capacity} x {'/'.join(map(str, counts))}{gpus}",
                item,
                counts,
                node_price,
            )
        )
        if pool.role == "gpu" and found.gpu_node_type is None:
            found.gpu_node_type = pool.instance_type
            found.gpu_node_per_hour = node_price.per_hour if node_price else None
        if pool.disk_gb:
            found.lines.append(
                Line(
                    "node disks",
                    f"{pool.role} pool: {pool.disk_gb} GB {pool.disk_item.split('/', 1)[1]} per node",
                    pool.disk_item,
                    _three(n * pool.disk_gb for n in counts),
                    price(pool.disk_item),
                )
            )
        node_counts = [a + b for a, b in zip(node_counts, counts, strict=True)]
    # Sorted: the program sees resources in construction order, the plan in registration order.
    for fixed in sorted(h.fixed, key=lambda f: (f.group, f.item, f.what)):
        n = float(fixed.count)
        found.lines.append(
            Line(fixed.group, f"{fixed.what} x {fixed.count}", fixed.item, (n, n, n), price(fixed.item))
        )
    for per_node in h.per_node:
        counts_f = _three(node_counts)
        found.lines.append(
            Line(
                per_node.group,
                f"{per_node.what} x {'/'.join(map(str, node_counts))}",
                per_node.item,
                counts_f,
                price(per_node.item),
            )
        )
    gb = image_gb(image_mb)
    for stored in h.stored:
        size = f"{gb:.2f} GB" if gb is not None else "image size unknown"
        counts_s = (gb, gb, gb) if gb is not None else (1.0, 1.0, 1.0)
        stored_price = price(stored.item) if gb is not None else None
        found.lines.append(
            Line(
                stored.group,
                f"{stored.what}: one {h.image_variant or ''} image, {size}",
                stored.item,
                counts_s,
                stored_price,
            )
        )
    for usage in sorted(h.usage, key=lambda u: u.item):
        found.usage.append(UsageLine(usage.group, usage.what, usage.item, price(usage.item)))
    return found


def _three(values: Iterable[float]) -> tuple[float, float, float]:
    idle, busy, most = (float(v) for v in values)
    return idle, busy, most


def per_day(per_hour: float) -> float:
    return per_hour * 24


def per_month(per_hour: float) -> float:
    return per_hour * HOURS_PER_MONTH
