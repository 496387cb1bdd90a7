"""Load shapes: the users a plan asks for over time."""

import pytest

from lab.loadtest.profiles import plan_for


def test_steady_holds_the_same_users_from_start_to_end() -> None:
    plan = plan_for("steady", 20, 10.0)
    assert [plan.users_at(t) for t in (0.0, 5.0, 9.9, 10.0)] == [20, 20, 20, 20]
    assert plan.duration_s == 10.0


def test_joe_and_friends_starts_with_joe_alone_and_ramps_to_all_his_friends() -> None:
    plan = plan_for("joe-and-friends", 100, 100.0)
    assert plan.users_at(0.0) == 1
    assert plan.users_at(5.0) == 1
    assert 40 <= plan.users_at(35.0) <= 60
    assert plan.users_at(70.0) == 100
    assert plan.peak_users == 100
    assert plan.users_at(100.0) == 1


def test_spike_jumps_from_a_tenth_to_all_users_and_back() -> None:
    plan = plan_for("spike", 50, 10.0)
    assert plan.users_at(1.0) == 5
    assert plan.users_at(4.0) == 50
    assert plan.users_at(8.0) == 5


@pytest.mark.parametrize(
    ("profile", "users", "duration", "named"),
    [("stampede", 10, 1.0, "profile"), ("steady", 0, 1.0, "users"), ("steady", 1, 0.0, "duration")],
)
def test_a_bad_plan_is_refused_with_the_field_named(
    profile: str, users: int, duration: float, named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        plan_for(profile, users, duration)
