"""`python -m lab.hostile_bodies`: what two clients sending the largest allowed bodies of zeros cost a
well-behaved third one (issue 20, item 3; figures in docs/hardening.md).

Starts one `python -m service` (the bundled digits model) on a free loopback port, measures a client
sending one-row /predict requests one after another, alone and then while two others keep posting bodies
of `0,0,...` as large as the server takes (each answered 400 or 413), and prints p50/p95/p99 for both.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
ROW = {"instances": [[0.0] * 64]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return f"n={len(ordered)} p50 {at(0.50):.2f} ms, p95 {at(0.95):.2f} ms, p99 {at(0.99):.2f} ms"


def _well_behaved(base: str, seconds: float) -> list[float]:
    latencies = []
    with httpx.Client(base_url=base, timeout=10) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            response = client.post("/predict", json=ROW)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return latencies


def _zeros(body_bytes: int) -> bytes:
    head, tail = b'{"instances": [[', b"]]}"
    count = max(1, (body_bytes - len(head) - len(tail)) // 2)
    return head + b",".join([b"0"] * count) + tail


def _attack(base: str, body_bytes: int) -> None:
    body = _zeros(body_bytes)
    with httpx.Client(base_url=base, timeout=30) as client:
        while True:
            client.post("/predict", content=body, headers={"content-type": "application/json"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each of the two runs")
    parser.add_argument("--body-bytes", type=int, default=0, help="attack body size (0: the server's limit)")
    args = parser.parse_args()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LIFTOFF_HOST": "127.0.0.1", "LIFTOFF_PORT": str(port), "LIFTOFF_TORCH_THREADS": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "service"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("the server did not become ready", file=sys.stderr)
                return 1
            time.sleep(0.1)
        body_bytes = args.body_bytes or _body_limit(port)
        alone = _well_behaved(base, args.seconds)
        # Each attacker in its own process, so its CPU and GIL are not the measured client's.
        attackers = [multiprocessing.Process(target=_attack, args=(base, body_bytes - 1)) for _ in range(2)]
        for process in attackers:
            process.start()
        time.sleep(1.0)
        attacked = _well_behaved(base, args.seconds)
        for process in attackers:
            process.terminate()
            process.join(timeout=30)
        answered = httpx.post(
            base + "/predict", content=_zeros(body_bytes - 1), headers={"content-type": "application/json"}
        ).status_code
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"attack bodies: {body_bytes - 1} bytes of zeros, each answered {answered}")
    print(f"alone:          {_percentiles(alone)}")
    print(f"two attackers:  {_percentiles(attacked)}")
    return 0


def _body_limit(port: int) -> int:
    """The server's body limit, from the 413 that a too-long Content-Length gets at once."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n")
        answer = sock.recv(65536).decode()
    words = answer.split()
    return int(words[words.index("than") + 1])


if __name__ == "__main__":
    sys.exit(main())
