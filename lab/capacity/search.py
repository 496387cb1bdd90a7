"""One replica's sustainable throughput: step the concurrent users up until p99 or errors break the target."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from lab.loadtest.http import Connection, PreparedRequest, RequestFailed
from lab.loadtest.profiles import steady
from lab.loadtest.runner import LoadSpec, run_load

_QUEUE_DEPTH = re.compile(rb"^liftoff_queue_depth(?:\{[^}]*\})? ([0-9.eE+-]+)$", re.MULTILINE)


@dataclass(frozen=True)
class StepResult:
    users: int
    rps: float
    p50_ms: float
    p99_ms: float
    sent: int
    failed: int
    queue_depth: float | None
    """Mean of `liftoff_queue_depth` sampled during the step; None when the server does not export it."""

    def meets(self, p99_target_ms: float) -> bool:
        return self.failed == 0 and self.sent > 0 and self.p99_ms <= p99_target_ms

    def format(self) -> str:
        depth = "-" if self.queue_depth is None else f"{self.queue_depth:.1f}"
        return (
            f"{self.users:5d} users  {self.rps:8.1f} req/s  "
            f"p50 {self.p50_ms:7.1f} ms  p99 {self.p99_ms:7.1f} ms"
            f"  failed {self.failed:5d}/{self.sent:<7d} queue depth {depth}"
        )


@dataclass(frozen=True)
class Capacity:
    p99_target_ms: float
    steps: tuple[StepResult, ...]

    @property
    def sustainable(self) -> StepResult | None:
        """The highest-throughput step that met the p99 target without a failed request."""
        passing = [step for step in self.steps if step.meets(self.p99_target_ms)]
        return max(passing, key=lambda step: step.rps) if passing else None


async def _sample_queue_depth(metrics: PreparedRequest, samples: list[float], stop: asyncio.Event) -> None:
    connection = Connection(metrics)
    try:
        while not stop.is_set():
            try:
                response = await connection.send(timeout_s=2.0)
            except RequestFailed:
                response = None
            if response is not None and response.status == 200:
                found = _QUEUE_DEPTH.search(response.body)
                if found is None:
                    return
                samples.append(float(found.group(1)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.2)
    finally:
        await connection.close()


async def measure_step(url: str, request: PreparedRequest, users: int, seconds: float) -> StepResult:
    samples: list[float] = []
    stop = asyncio.Event()
    metrics = PreparedRequest.build(url, "GET", "/metrics", b"", "text/plain", tls=request.tls)
    sampler = asyncio.create_task(_sample_queue_depth(metrics, samples, stop))
    try:
        report = await run_load(LoadSpec(url, request, steady(users, seconds), timeout_s=10.0))
    finally:
        stop.set()
        await sampler
    return StepResult(
        users=users,
        rps=report.rps,
        p50_ms=report.p50_ms,
        p99_ms=report.p99_ms if not math.isnan(report.p99_ms) else math.inf,
        sent=report.sent,
        failed=report.failed,
        queue_depth=sum(samples) / len(samples) if samples else None,
    )


async def find_capacity(
    url: str,
    request: PreparedRequest,
    p99_target_ms: float,
    step_seconds: float = 5.0,
    max_users: int = 256,
    on_step: Callable[[StepResult], None] | None = None,
) -> Capacity:
    """Double the users from 1 until a step misses the target (or throughput stops growing), then stop.

    Closed-loop users raise the offered load only as fast as the server answers, so the step that breaks the
    target is the first one past the knee, not an overload that would take seconds to drain.
    """
    # Warm-up: the first requests pay for lazy initialisation and connection set-up.
    await run_load(LoadSpec(url, request, steady(2, min(2.0, step_seconds)), timeout_s=10.0))
    steps: list[StepResult] = []
    users = 1
    best_rps = 0.0
    flat_steps = 0
    while users <= max_users:
        step = await measure_step(url, request, users, step_seconds)
        steps.append(step)
        if on_step is not None:
            on_step(step)
        if not step.meets(p99_target_ms):
            break
        # Past the knee more users only queue: two doublings in a row without 5% more throughput end it.
        flat_steps = flat_steps + 1 if step.rps < best_rps * 1.05 else 0
        if flat_steps >= 2:
            break
        best_rps = max(best_rps, step.rps)
        users *= 2
    return Capacity(p99_target_ms, tuple(steps))
