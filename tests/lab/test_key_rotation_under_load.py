"""Key rotation under load against a real `python -m service` (issue 15): the key file is rewritten while
clients keep calling; no request with a key in force fails, and the removed key is refused afterwards.
(The lab's HAProxy front with TLS is not part of this test yet.)"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lab.ports import free_port
from lab.replicas import Replica

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

OLD = "lk_old_0123456789abcdef0123"
NEW = "lk_new_fedcba9876543210fedc"
CLIENTS = 8
REQUESTS_PER_CLIENT = 60
PATH = "/v2/models/digits"


def write_keys(path: Path, *keys: str) -> None:
    """As the kubelet does with a Secret: a new file renamed into place, never a half-written one."""
    staged = path.with_suffix(".new")
    staged.write_text("".join(f"{key}\n" for key in keys))
    os.replace(staged, path)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Replica, Path]]:
    folder = tmp_path_factory.mktemp("rotation")
    keys = folder / "keys"
    write_keys(keys, OLD)
    replica = Replica(
        "rotating", free_port(), folder / "server.log", env={"LIFTOFF_API_KEYS_FILE": str(keys)}
    )
    replica.start()
    try:
        replica.wait_ready(timeout_s=90.0)
        yield replica, keys
    finally:
        replica.stop(timeout_s=15.0)


def status_with(base: str, key: str) -> int:
    return httpx.get(base + PATH, headers={"authorization": f"Bearer {key}"}, timeout=10.0).status_code


def wait_for(base: str, key: str, wanted: int, deadline_s: float = 15.0) -> None:
    """The server re-reads the file within about a second; poll instead of assuming how long."""
    end = time.monotonic() + deadline_s
    while status_with(base, key) != wanted:
        assert time.monotonic() < end, f"{key[:6]}... never answered {wanted}"
        time.sleep(0.1)


async def load(base: str, key: str, rotate: asyncio.Event) -> list[int]:
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:

        async def one_client(index: int) -> list[int]:
            statuses = []
            for n in range(REQUESTS_PER_CLIENT):
                if index == 0 and n == REQUESTS_PER_CLIENT // 3:
                    rotate.set()
                answer = await client.get(PATH, headers={"authorization": f"Bearer {key}"})
                statuses.append(answer.status_code)
            return statuses

        results = await asyncio.gather(*(one_client(i) for i in range(CLIENTS)))
    return [status for statuses in results for status in statuses]


def test_rotating_the_key_file_under_load_fails_no_request_and_retires_the_old_key(
    served: tuple[Replica, Path],
) -> None:
    replica, keys = served
    base = f"http://127.0.0.1:{replica.port}"
    assert status_with(base, NEW) == 401
    # Step 1: the new key beside the old one.
    write_keys(keys, OLD, NEW)
    wait_for(base, NEW, 200)

    async def run() -> list[int]:
        rotate = asyncio.Event()
        loop = asyncio.get_running_loop()

        async def rotate_when_asked() -> None:
            await rotate.wait()
            # Step 3, mid-load: the old key removed, the file rewritten twice as a Secret update can be.
            await loop.run_in_executor(None, write_keys, keys, NEW)
            await loop.run_in_executor(None, write_keys, keys, NEW, "# rotated")

        rotation = asyncio.ensure_future(rotate_when_asked())
        statuses = await load(base, NEW, rotate)
        await rotation
        return statuses

    statuses = asyncio.run(run())
    assert len(statuses) == CLIENTS * REQUESTS_PER_CLIENT
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    wait_for(base, OLD, 401)
    assert status_with(base, NEW) == 200
    log = Path(replica.log_path).read_text()
    assert OLD not in log and NEW not in log
