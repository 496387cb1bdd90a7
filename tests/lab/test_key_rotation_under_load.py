"""Key rotation under load through the lab: HAProxy terminates TLS in front of two replicas of the
real server; the load generator sends the new key while the lab's key file is rewritten as the kubelet
rewrites a mounted Secret (a new file renamed into place). No request with the new key fails, the old key
then gets 401 through the proxy, and neither key reaches a server's or the proxy's log."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from lab_helpers import BackgroundLoad

from lab.api_keys import write_keys
from lab.supervisor import Lab, LabConfig

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

OLD = "lk_old_0123456789abcdef0123456789abcdef012"
NEW = "lk_new_fedcba9876543210fedcba9876543210fed"
USERS = 8
PATH = "/v2/models/digits"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    # Info, not the lab's default warning: every key-file reload is logged, so the log check has lines to read.
    config = LabConfig(
        replicas=2,
        api_key=OLD,
        ready_timeout_s=90.0,
        drain_timeout_s=10.0,
        replica_env={"LIFTOFF_LOG_LEVEL": "info"},
    )
    with Lab(config) as running:
        yield running


def status_with(lab: Lab, key: str, base: str | None = None) -> int:
    """Status of the model's metadata with `key`, through the proxy or (with `base`) at one replica."""
    headers = {"authorization": f"Bearer {key}"}
    if base is not None:
        return httpx.get(base + PATH, headers=headers, timeout=10.0).status_code
    return httpx.get(lab.url + PATH, headers=headers, timeout=10.0, verify=lab.client_tls()).status_code


def wait_for_every_replica(lab: Lab, key: str, wanted: int, deadline_s: float = 15.0) -> None:
    """Each replica re-reads the file on its own within about a second: poll each one, assume no timing."""
    end = time.monotonic() + deadline_s
    for replica in lab.replicas:
        base = f"http://127.0.0.1:{replica.port}"
        while status_with(lab, key, base) != wanted:
            assert time.monotonic() < end, f"{replica.replica_id} never answered {wanted} to {key[:6]}..."
            time.sleep(0.1)


def test_rotating_the_lab_key_file_under_load_through_tls_fails_no_request_and_retires_the_old_key(
    lab: Lab,
) -> None:
    keys = lab.api_keys_path
    assert keys is not None and lab.url.startswith("https://")
    assert status_with(lab, OLD) == 200
    assert status_with(lab, NEW) == 401
    # Step 1: the new key beside the old one; clients move to it once every replica accepts it.
    write_keys(keys, [OLD, NEW])
    wait_for_every_replica(lab, NEW, 200)

    # Step 2, under load with the new key and a client that never resends: the old key removed, the file
    # rewritten twice as a Secret update can be.
    with BackgroundLoad(lab, users=USERS, retry_cut_off=0, api_key=NEW) as during:
        time.sleep(1.5)
        write_keys(keys, [NEW])
        write_keys(keys, [NEW, "# rotated"])
        time.sleep(2.5)
    report = during.report
    print(f"\nkey rotation under load through TLS: {report.format()}")
    assert report.sent > 200
    assert report.failed == 0, report.errors
    assert set(report.replicas) == {"replica-0", "replica-1"}

    # Step 3: the old key is refused through the proxy by every replica; the new one still works.
    wait_for_every_replica(lab, OLD, 401)
    assert [status_with(lab, OLD) for _ in range(4)] == [401] * 4
    assert status_with(lab, NEW) == 200

    logs = {path.name: path.read_text() for path in lab.workdir.glob("*.log")}
    assert set(logs) == {"replica-0.log", "replica-1.log", "haproxy.log"}
    assert "API keys loaded" in logs["replica-0.log"]
    for name, text in logs.items():
        assert OLD not in text and NEW not in text, f"a key is in {name}"
