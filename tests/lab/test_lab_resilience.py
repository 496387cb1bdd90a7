"""Three real replicas behind HAProxy: fair share, self-healing after kill -9, rolling replacement under load.

Each test prints its figures (run with `-s` to see them): requests sent, failed, p99.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from lab_helpers import BackgroundLoad, load

from lab.supervisor import Lab, LabConfig

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

# A queue of one full batch: 12 users spread over 3 replicas never fill it, so any 503 would be a lab fault.
REPLICA_ENV = {"LIFTOFF_QUEUE_LIMIT": "32", "LIFTOFF_MAX_BATCH_SIZE": "32"}


@pytest.fixture(scope="module")
def lab_of_three() -> Iterator[Lab]:
    """Three replicas of the real server behind HAProxy, shared by this module's tests (starting torch three
    times costs seconds); each test leaves it with three ready replicas in rotation."""
    config = LabConfig(replicas=3, ready_timeout_s=90.0, drain_timeout_s=10.0, replica_env=REPLICA_ENV)
    with Lab(config) as lab:
        yield lab


def _share(report_replicas: dict[str, int], name: str) -> float:
    return report_replicas.get(name, 0) / max(1, sum(report_replicas.values()))


def test_every_replica_serves_a_fair_share_of_a_steady_load(lab_of_three: Lab) -> None:
    report = load(lab_of_three, users=12, seconds=4.0)
    print(f"\nfair share: {report.format()}")
    assert report.sent > 100
    assert report.failed == 0, report.errors
    assert set(report.replicas) == {"replica-0", "replica-1", "replica-2"}
    for name in report.replicas:
        assert 0.28 <= _share(report.replicas, name) <= 0.39, report.replicas


def test_a_replica_killed_mid_run_fails_no_request_and_gets_traffic_again_once_restarted(
    lab_of_three: Lab,
) -> None:
    victim = lab_of_three.replicas[1]
    old_pid, generation = victim.pid, victim.generation
    assert old_pid is not None
    restarts_before = lab_of_three.restarts(1)
    with BackgroundLoad(lab_of_three, users=12) as during:
        time.sleep(2.0)
        os.kill(old_pid, signal.SIGKILL)
        lab_of_three.wait_in_rotation(1, timeout_s=60.0, after_generation=generation)
        time.sleep(1.0)
    report = during.report
    print(f"\nkill -9 replica-1 under load: {report.format()}")
    assert report.sent > 100
    assert report.failed == 0, report.errors
    # Only the requests in flight on the killed replica can have been cut off mid-answer: at most one per user.
    assert report.retried <= 12
    assert lab_of_three.restarts(1) == restarts_before + 1
    assert victim.pid != old_pid

    after = load(lab_of_three, users=12, seconds=3.0)
    print(f"after the restart: {after.format()}")
    assert after.failed == 0, after.errors
    assert _share(after.replicas, "replica-1") >= 0.25, after.replicas


def test_kill_9_of_a_replica_fails_none_of_5000_requests_from_a_client_that_never_resends(
    lab_of_three: Lab,
) -> None:
    """Each response leaves the server in one write, so a killed replica has sent either
    nothing (HAProxy retries the request on another replica) or the whole answer."""
    victim = lab_of_three.replicas[2]
    old_pid, generation = victim.pid, victim.generation
    assert old_pid is not None
    with BackgroundLoad(lab_of_three, users=12, retry_cut_off=0) as during:
        time.sleep(2.0)
        os.kill(old_pid, signal.SIGKILL)
        lab_of_three.wait_in_rotation(2, timeout_s=60.0, after_generation=generation)
        time.sleep(3.0)
    report = during.report
    print(f"\nkill -9 replica-2 under load, no client resends: {report.format()}")
    assert report.sent >= 5000
    assert report.failed == 0, report.errors
    assert report.retried == 0


def test_replacing_every_replica_one_by_one_under_load_fails_no_request(lab_of_three: Lab) -> None:
    old_pids = [replica.pid for replica in lab_of_three.replicas]
    started = time.monotonic()
    with BackgroundLoad(lab_of_three, users=12) as during:
        time.sleep(1.0)
        lab_of_three.rolling_replace()
        time.sleep(1.0)
    report = during.report
    print(f"\nrolling replacement of 3 replicas in {time.monotonic() - started:.1f} s: {report.format()}")
    assert report.sent > 100
    assert report.failed == 0, report.errors
    # A graceful replacement cuts off nothing: the client never had to resend.
    assert report.retried == 0
    assert all(new != old for new, old in zip((r.pid for r in lab_of_three.replicas), old_pids, strict=True))
    assert set(report.replicas) == {"replica-0", "replica-1", "replica-2"}
