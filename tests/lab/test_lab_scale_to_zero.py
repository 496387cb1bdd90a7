"""Scale to zero for real: no replica while idle, the first requests held until one is ready, never a hang."""

from __future__ import annotations

import http.client
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from lab.autoscaler import ScalingPolicy, Traffic, desired_replicas
from lab.supervisor import Lab, LabConfig
from service.model.examples import DIGIT_ZERO

BODY = json.dumps({"instances": [DIGIT_ZERO]}).encode()


def predict(lab: Lab, timeout_s: float = 60.0) -> tuple[int, dict[str, str], bytes, float]:
    """One /predict through the proxy, with the lab's TLS and key: status, headers, body, seconds to answer."""
    started = time.monotonic()
    connection = http.client.HTTPSConnection(
        "127.0.0.1", lab.port, timeout=timeout_s, context=lab.client_tls()
    )
    headers = {"content-type": "application/json", "authorization": f"Bearer {lab.api_key}"}
    try:
        connection.request("POST", "/predict", BODY, headers)
        response = connection.getresponse()
        body = response.read()
        return response.status, dict(response.getheaders()), body, time.monotonic() - started
    finally:
        connection.close()


def burst(lab: Lab, clients: int) -> list[tuple[int, dict[str, str], bytes, float]]:
    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(lambda _: predict(lab), range(clients)))


def running(lab: Lab) -> int:
    return sum(replica.alive() for replica in lab.replicas)


def wait_for(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.1)
    return False


def test_from_zero_32_first_requests_all_succeed_then_idle_stops_every_replica_and_a_burst_wakes_it() -> None:
    config = LabConfig(replicas=2, min_replicas=0, idle_s=3.0, cold_start_timeout_s=50.0)
    with Lab(config) as lab:
        assert running(lab) == 0, "a lab scaled to zero starts no replica"

        answers = burst(lab, 32)
        assert [status for status, *_ in answers] == [200] * 32
        assert all(json.loads(body)["predictions"][0]["label"] == 0 for _, _, body, _ in answers)
        first = max(seconds for *_, seconds in answers)
        print(f"\ncold start: 32 concurrent first requests answered within {first:.2f} s")
        assert running(lab) >= 1

        assert wait_for(lambda: running(lab) == 0, timeout_s=3.0 + 30.0), "replicas outlived the idle window"

        again = burst(lab, 8)
        assert [status for status, *_ in again] == [200] * 8
        print(f"after idle: 8 requests answered within {max(s for *_, s in again):.2f} s")


def test_a_cold_start_that_outlives_the_timeout_answers_503_with_retry_after() -> None:
    # A "server" that never becomes ready: the request must come back at the cold-start timeout.
    never_ready = (sys.executable, "-c", "import time; time.sleep(120)")
    config = LabConfig(
        replicas=1, min_replicas=0, cold_start_timeout_s=2.0, ready_timeout_s=8.0, replica_command=never_ready
    )
    with Lab(config) as lab:
        status, headers, body, seconds = predict(lab)
        assert status == 503
        assert {k.lower(): v for k, v in headers.items()}["retry-after"] == "1"
        assert "cold-start timeout" in json.loads(body)["error"]
        assert 1.9 <= seconds < 10.0, f"answered after {seconds:.2f} s, not at the 2 s timeout"


POLICY = ScalingPolicy(min_replicas=0, max_replicas=3, idle_s=30.0, target_in_flight=16)


def test_the_first_request_asks_for_one_replica_and_idle_asks_for_the_minimum() -> None:
    quiet = Traffic(requests_total=10, in_flight=0, queued=0)
    assert desired_replicas(POLICY, 0, quiet, new_requests=True, idle_for_s=0.0) == 1
    assert desired_replicas(POLICY, 0, quiet, new_requests=False, idle_for_s=5.0) == 0
    assert desired_replicas(POLICY, 1, quiet, new_requests=False, idle_for_s=29.0) == 1
    assert desired_replicas(POLICY, 1, quiet, new_requests=False, idle_for_s=30.0) == 0


def test_demand_beyond_the_target_adds_replicas_up_to_the_maximum_and_busy_never_scales_down() -> None:
    assert desired_replicas(POLICY, 1, Traffic(100, 20, 10), new_requests=True, idle_for_s=0.0) == 2
    assert desired_replicas(POLICY, 2, Traffic(100, 200, 50), new_requests=True, idle_for_s=0.0) == 3
    # Requests still in flight: an idle clock past the window does not stop a replica mid-answer.
    assert desired_replicas(POLICY, 1, Traffic(100, 1, 0), new_requests=False, idle_for_s=99.0) == 1
