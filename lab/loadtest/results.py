"""What a load run measured: throughput, latency percentiles, errors by kind, spread across replicas."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence; NaN when empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class LoadReport:
    url: str
    duration_s: float
    """Wall time from the first request sent to the last answer received."""
    sent: int
    ok: int
    """2xx responses."""
    errors: dict[str, int]
    """Everything else by kind: an HTTP status ("503") or a failure without a response (connect, timeout,
    closed, protocol)."""
    replicas: dict[str, int]
    """2xx responses per `X-Liftoff-Replica` value ("-" when the header was missing)."""
    p50_ms: float
    p95_ms: float
    p99_ms: float
    """Latency percentiles of the 2xx responses."""
    max_ms: float
    rejected_with_retry_after: int
    """503 responses that carried `Retry-After`."""
    peak_users: int
    ok_per_second: list[int] = field(default_factory=list)
    """2xx responses completed in each whole second of the run: how throughput moved."""
    retried: int = 0
    """Requests resent by the client after a cut-off answer (only when asked to); not counted in `sent`."""

    @property
    def failed(self) -> int:
        return self.sent - self.ok

    @property
    def rps(self) -> float:
        """2xx responses per second."""
        return self.ok / self.duration_s if self.duration_s > 0 else 0.0

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "failed": self.failed, "rps": round(self.rps, 1)}, indent=2)

    def format(self) -> str:
        lines = [
            f"url            {self.url}",
            f"duration       {self.duration_s:.1f} s, up to {self.peak_users} concurrent users",
            f"requests       {self.sent} sent, {self.ok} ok, {self.failed} failed"
            + (f", {self.retried} resent by the client after a cut-off answer" if self.retried else ""),
            f"throughput     {self.rps:.1f} req/s (2xx)",
            f"latency (2xx)  p50 {self.p50_ms:.1f} ms   p95 {self.p95_ms:.1f} ms   p99 {self.p99_ms:.1f} ms"
            f"   max {self.max_ms:.1f} ms",
        ]
        if self.errors:
            kinds = ", ".join(f"{kind}: {count}" for kind, count in sorted(self.errors.items()))
            lines.append(f"errors         {kinds}")
            if "503" in self.errors:
                lines.append(
                    f"               {self.rejected_with_retry_after} of the 503s carried Retry-After"
                )
        else:
            lines.append("errors         none")
        if self.replicas:
            total = sum(self.replicas.values())
            spread = "   ".join(
                f"{name} {count} ({100 * count / total:.0f}%)"
                for name, count in sorted(self.replicas.items())
            )
            lines.append(f"replicas       {spread}")
        return "\n".join(lines)


def build_report(
    url: str,
    duration_s: float,
    peak_users: int,
    latencies_ms: list[float],
    outcomes: Counter[str],
    replicas: Counter[str],
    rejected_with_retry_after: int,
    ok_per_second: list[int],
    retried: int = 0,
) -> LoadReport:
    latencies_ms.sort()
    ok = outcomes.get("ok", 0)
    return LoadReport(
        url=url,
        duration_s=duration_s,
        sent=sum(outcomes.values()),
        ok=ok,
        errors={kind: count for kind, count in outcomes.items() if kind != "ok"},
        replicas=dict(replicas),
        p50_ms=percentile(latencies_ms, 0.50),
        p95_ms=percentile(latencies_ms, 0.95),
        p99_ms=percentile(latencies_ms, 0.99),
        max_ms=latencies_ms[-1] if latencies_ms else math.nan,
        rejected_with_retry_after=rejected_with_retry_after,
        peak_users=peak_users,
        ok_per_second=ok_per_second,
        retried=retried,
    )
