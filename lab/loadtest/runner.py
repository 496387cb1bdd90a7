"""Drive a plan of concurrent users against one URL and collect what happened.

Each user is a coroutine with its own keep-alive connection that sends its next request as soon as the last
one is answered (a closed loop), optionally paced so that all users together stay at or under a total rate.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lab.loadtest.http import Connection, PreparedRequest, RequestFailed, Response
from lab.loadtest.profiles import Plan
from lab.loadtest.results import LoadReport, build_report, percentile

T = TypeVar("T")


def run_fast(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop where it is installed: the generator must not be the bottleneck."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


@dataclass
class _Tally:
    """Everything recorded so far; the progress line and the report read it."""

    started_at: float
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    replicas: Counter[str] = field(default_factory=Counter)
    ok_per_second: list[int] = field(default_factory=list)
    rejected_with_retry_after: int = 0
    retried: int = 0
    in_flight: int = 0

    def record_ok(self, finished_at: float, latency_ms: float, replica: str | None) -> None:
        self.outcomes["ok"] += 1
        self.latencies_ms.append(latency_ms)
        self.replicas[replica or "-"] += 1
        second = int(finished_at - self.started_at)
        if second >= len(self.ok_per_second):
            self.ok_per_second.extend([0] * (second + 1 - len(self.ok_per_second)))
        self.ok_per_second[second] += 1


class _Pacer:
    """Hands out send times `1 / rate` apart, shared by all users; never bursts to catch up."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = time.monotonic()

    async def wait_turn(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass(frozen=True)
class LoadSpec:
    url: str
    request: PreparedRequest
    plan: Plan
    rate: float | None = None
    """Total requests per second across all users; None: as fast as the users get answers."""
    timeout_s: float = 10.0
    honor_retry_after: bool = False
    retry_cut_off: int = 0
    """Resend a request whose answer was cut off (connection closed before a whole response) up to this many
    times; the report counts each resend. A replica killed between writing its headers and its body cuts
    a response that the proxy has begun to forward, which no proxy can retry; a client can, when the
    request is safe to repeat, as inference is."""
    """After a 503 with Retry-After, a user waits that long before its next request, as a polite client
    does; False hammers on, as a stampede of reloading browsers does."""


async def run_load(
    spec: LoadSpec,
    progress: Callable[[str], None] | None = None,
    stop_when: Callable[[], bool] | None = None,
) -> LoadReport:
    """Run `spec.plan` to its end (or until `stop_when()` says so), wait for the answers in flight, report."""
    started = time.monotonic()
    tally = _Tally(started_at=started)
    pacer = _Pacer(spec.rate) if spec.rate else None
    end_at = started + spec.plan.duration_s
    desired = spec.plan.users_at(0.0)
    users: list[asyncio.Task[None]] = []

    async def user(index: int) -> None:
        connection = Connection(spec.request)
        try:
            while time.monotonic() < end_at and index < desired:
                if pacer is not None:
                    await pacer.wait_turn()
                    if time.monotonic() >= end_at:
                        break
                tally.in_flight += 1
                sent_at = time.monotonic()
                try:
                    response = await _send(connection, spec, tally)
                except RequestFailed as failure:
                    tally.outcomes[failure.kind] += 1
                    # Pause a moment so a dead URL costs a trickle of errors, not a CPU-bound storm.
                    await asyncio.sleep(0.05)
                    continue
                finally:
                    tally.in_flight -= 1
                finished_at = time.monotonic()
                if 200 <= response.status < 300:
                    tally.record_ok(finished_at, (finished_at - sent_at) * 1000.0, response.replica)
                else:
                    tally.outcomes[str(response.status)] += 1
                    if response.status == 503 and response.retry_after is not None:
                        tally.rejected_with_retry_after += 1
                        if spec.honor_retry_after:
                            pause = min(_seconds(response.retry_after), end_at - time.monotonic())
                            await asyncio.sleep(max(0.0, pause))
        finally:
            await connection.close()

    last_report = (started, 0, 0)
    while (now := time.monotonic()) < end_at:
        if stop_when is not None and stop_when():
            end_at = now
            break
        desired = spec.plan.users_at(now - started)
        alive = [task for task in users if not task.done()]
        # Users above `desired` leave on their own after their current request; spawn any that are missing.
        running = {task.get_name() for task in alive}
        for index in range(desired):
            if f"user-{index}" not in running:
                users.append(asyncio.create_task(user(index), name=f"user-{index}"))
        users = [task for task in users if not task.done()]
        if progress is not None and now - last_report[0] >= 0.5:
            last_report = _progress(progress, tally, now, desired, last_report)
        await asyncio.sleep(0.1)
    if users:
        await asyncio.gather(*users, return_exceptions=True)
    return build_report(
        url=spec.url,
        duration_s=time.monotonic() - started,
        peak_users=spec.plan.peak_users,
        latencies_ms=tally.latencies_ms,
        outcomes=tally.outcomes,
        replicas=tally.replicas,
        rejected_with_retry_after=tally.rejected_with_retry_after,
        ok_per_second=tally.ok_per_second,
        retried=tally.retried,
    )


async def _send(connection: Connection, spec: LoadSpec, tally: _Tally) -> Response:
    attempts_left = spec.retry_cut_off
    while True:
        try:
            return await connection.send(spec.timeout_s)
        except RequestFailed as failure:
            if failure.kind != "closed" or attempts_left <= 0:
                raise
            attempts_left -= 1
            tally.retried += 1


def _seconds(retry_after: str) -> float:
    """Retry-After in seconds (the HTTP-date form is not used by the servers here: treated as 1 s)."""
    try:
        return max(0.0, min(float(retry_after), 60.0))
    except ValueError:
        return 1.0


def _progress(
    emit: Callable[[str], None], tally: _Tally, now: float, users: int, last: tuple[float, int, int]
) -> tuple[float, int, int]:
    last_at, last_ok, last_latency_index = last
    ok = tally.outcomes.get("ok", 0)
    sent = sum(tally.outcomes.values())
    window = sorted(tally.latencies_ms[last_latency_index:])
    p99 = percentile(window, 0.99)
    p99_text = "-" if math.isnan(p99) else f"{p99:.0f} ms"
    rate = (ok - last_ok) / (now - last_at)
    emit(
        f"{now - tally.started_at:6.1f} s  users {users:4d}  in flight {tally.in_flight:4d}  "
        f"done {sent:7d}  failed {sent - ok:6d}  {rate:7.0f} req/s  p99 {p99_text}"
    )
    return now, ok, len(tally.latencies_ms)


def tty_progress(line: str) -> None:
    """One line, rewritten in place on a terminal."""
    sys.stderr.write("\r\x1b[K" + line)
    sys.stderr.flush()
