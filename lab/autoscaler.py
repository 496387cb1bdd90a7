"""Scale to zero in the lab: start replicas on demand, stop them after an idle window.

The cluster does this with the KEDA HTTP add-on: its interceptor counts requests and holds them while the
Deployment has no ready pod, and its scaler sets the replica count from the pending requests. Here HAProxy
holds the requests (hold_for_replica.lua) and this loop reads HAProxy's counters to decide, so the same
behaviour is tested with real processes: the first request after idle waits for a cold start instead of
failing, and nothing runs while nobody asks.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from lab.proxy import BACKEND, FRONTEND, ProxyError
from lab.replicas import ReplicaError

log = logging.getLogger("lab")


@dataclass(frozen=True)
class ScalingPolicy:
    min_replicas: int
    max_replicas: int
    idle_s: float
    """No request for this long scales down to `min_replicas` (0: no replica, no cost)."""
    target_in_flight: int = 16
    """Requests in flight per replica before another is started (KEDA HTTP's target pending requests)."""


@dataclass(frozen=True)
class Traffic:
    """What HAProxy has seen: requests received so far, and those in flight to or queued for replicas."""

    requests_total: int
    in_flight: int
    queued: int


def desired_replicas(
    policy: ScalingPolicy, active: int, traffic: Traffic, new_requests: bool, idle_for_s: float
) -> int:
    """How many replicas should run now; the loop moves one step at a time towards it."""
    if idle_for_s >= policy.idle_s and traffic.in_flight == 0 and traffic.queued == 0:
        return policy.min_replicas
    wanted = active
    if active == 0 and new_requests:
        wanted = 1
    demand = traffic.in_flight + traffic.queued
    if active and demand > active * policy.target_in_flight:
        wanted = math.ceil(demand / policy.target_in_flight)
    return max(policy.min_replicas, min(policy.max_replicas, wanted))


class ScalableLab(Protocol):
    def active_replicas(self) -> int: ...

    def scale_up(self) -> None: ...

    def scale_down(self, to: int) -> None: ...

    def traffic(self) -> Traffic: ...


class Autoscaler:
    """A thread that polls HAProxy every `interval_s` and starts or stops one replica at a time."""

    def __init__(self, lab: ScalableLab, policy: ScalingPolicy, interval_s: float = 0.05) -> None:
        self.lab = lab
        self.policy = policy
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._seen = 0
        self._thread = threading.Thread(target=self._run, name="lab-autoscaler", daemon=True)

    def start(self) -> None:
        # The count before any client can connect: a request that lands before the first poll is new.
        self._seen = self.lab.traffic().requests_total
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30.0)

    def _run(self) -> None:
        seen = self._seen
        last_request = time.monotonic()
        while not self._stop.wait(self.interval_s):
            try:
                traffic = self.lab.traffic()
            except (OSError, ProxyError):
                continue
            new_requests = traffic.requests_total > seen
            seen = traffic.requests_total
            now = time.monotonic()
            if new_requests:
                last_request = now
            active = self.lab.active_replicas()
            wanted = desired_replicas(self.policy, active, traffic, new_requests, now - last_request)
            try:
                if wanted > active:
                    started = time.monotonic()
                    self.lab.scale_up()
                    log.info(
                        "scaled up to %d replica(s): in rotation %.2f s after the decision",
                        active + 1,
                        time.monotonic() - started,
                    )
                elif wanted < active:
                    self.lab.scale_down(wanted)
                    log.info("idle for %.0f s: scaled down to %d replica(s)", now - last_request, wanted)
            except (OSError, ProxyError, ReplicaError) as error:
                log.error("scaling from %d to %d replicas failed: %s", active, wanted, error)


def haproxy_traffic(stats: dict[tuple[str, str], dict[str, str]]) -> Traffic:
    """Traffic from `HAProxy.stats()`: the frontend's request count, the backend's sessions and queue."""
    frontend = stats[(FRONTEND, "FRONTEND")]
    backend = stats[(BACKEND, "BACKEND")]
    return Traffic(
        requests_total=int(frontend.get("req_tot") or 0),
        in_flight=int(backend.get("scur") or 0),
        queued=int(backend.get("qcur") or 0),
    )
