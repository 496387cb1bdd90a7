"""Load shapes: how many concurrent users over time, as a list of linear stages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """Over `duration_s`, move linearly from the previous stage's user count to `users`."""

    duration_s: float
    users: int


@dataclass(frozen=True)
class Plan:
    stages: tuple[Stage, ...]
    start_users: int = 0

    @property
    def duration_s(self) -> float:
        return sum(stage.duration_s for stage in self.stages)

    @property
    def peak_users(self) -> int:
        return max([self.start_users, *(stage.users for stage in self.stages)])

    def users_at(self, elapsed_s: float) -> int:
        """Concurrent users the plan asks for `elapsed_s` into the run."""
        previous = self.start_users
        for stage in self.stages:
            if elapsed_s < stage.duration_s:
                fraction = elapsed_s / stage.duration_s if stage.duration_s else 1.0
                return max(1, round(previous + (stage.users - previous) * fraction))
            elapsed_s -= stage.duration_s
            previous = stage.users
        return previous


def steady(users: int, duration_s: float) -> Plan:
    """`users` concurrent users from the first second to the last."""
    return Plan((Stage(duration_s, users),), start_users=users)


def joe_and_friends(users: int, duration_s: float) -> Plan:
    """Joe tries the service alone, then tells all his friends: a ramp from one user to `users`, a plateau,
    and everyone going home."""
    return Plan(
        (
            Stage(0.1 * duration_s, 1),
            Stage(0.5 * duration_s, users),
            Stage(0.3 * duration_s, users),
            Stage(0.1 * duration_s, 1),
        ),
        start_users=1,
    )


def spike(users: int, duration_s: float) -> Plan:
    """A tenth of `users`, then all of them at once, then a tenth again: does the service recover?"""
    base = max(1, users // 10)
    return Plan(
        (
            Stage(0.3 * duration_s, base),
            Stage(0.0, users),
            Stage(0.4 * duration_s, users),
            Stage(0.0, base),
            Stage(0.3 * duration_s, base),
        ),
        start_users=base,
    )


PROFILES: dict[str, Callable[[int, float], Plan]] = {
    "steady": steady,
    "joe-and-friends": joe_and_friends,
    "spike": spike,
}


def plan_for(profile: str, users: int, duration_s: float) -> Plan:
    if profile not in PROFILES:
        raise ValueError(f"profile: {profile!r} is unknown; allowed: {', '.join(PROFILES)}")
    if users < 1:
        raise ValueError(f"users: {users} must be at least 1")
    if duration_s <= 0:
        raise ValueError(f"duration: {duration_s} must be above 0 seconds")
    return PROFILES[profile](users, duration_s)


def describe(plan: Plan) -> Sequence[str]:
    return [f"{stage.duration_s:.1f} s -> {stage.users} users" for stage in plan.stages]
