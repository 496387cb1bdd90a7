"""`python -m lab.hostile_bodies`: what two clients sending the largest allowed bodies of zeros cost a
well-behaved third one (figures in docs/notes/hardening.md).

Starts one `python -m service` (the bundled digits model) on a free loopback port, measures a client
sending one-row /predict requests one after another, alone and then while two others keep posting bodies
of `0,0,...` as large as the server takes (each answered 400 or 413), and prints p50/p95/p99 for both,
their p99 ratio (the target: 2x), the attack rate and the load average (the figures are only as
quiet as the machine). `make bench-hostile` runs it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import httpx

from lab.ports import free_port

REPO = Path(__file__).resolve().parents[1]
ROW = {"instances": [[0.0] * 64]}


def _at(samples_ms: list[float], share: float) -> float:
    ordered = sorted(samples_ms)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _percentiles(samples_ms: list[float]) -> str:
    p50, p95, p99 = (_at(samples_ms, share) for share in (0.50, 0.95, 0.99))
    return f"n={len(samples_ms)} p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms"


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


def _attack(port: int, body_bytes: int, sent: Synchronized[int]) -> None:
    """Posts the body back to back on one keep-alive connection, the request built once: on 2 shared cores
    an attacker's own CPU (httpx's costs more than the server's answer) would be what the client waits for."""
    body = _zeros(body_bytes)
    request = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        while True:
            sock.sendall(request)
            _read_response(sock)
            with sent.get_lock():
                sent.value += 1


def _read_response(sock: socket.socket) -> None:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += sock.recv(65536)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each of the two runs")
    parser.add_argument("--body-bytes", type=int, default=0, help="attack body size (0: the server's limit)")
    args = parser.parse_args()
    port = free_port()
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
        cpu_before = _cpu_s(server.pid)
        alone = _well_behaved(base, args.seconds)
        cpu_per_request_ms = (_cpu_s(server.pid) - cpu_before) / len(alone) * 1000
        # Each attacker in its own process, so its CPU and GIL are not the measured client's.
        sent = multiprocessing.Value("q", 0)
        attackers = [
            multiprocessing.Process(target=_attack, args=(port, body_bytes - 1, sent)) for _ in range(2)
        ]
        for process in attackers:
            process.start()
        time.sleep(1.0)
        sent_before = sent.value
        attacked = _well_behaved(base, args.seconds)
        attack_rate = (sent.value - sent_before) / args.seconds
        # The server's CPU per hostile body, with the attackers alone: less at the mercy of the machine's
        # load than the client's latency.
        cpu_before, sent_before = _cpu_s(server.pid), sent.value
        time.sleep(3.0)
        cpu_per_body_ms = (_cpu_s(server.pid) - cpu_before) / max(1, sent.value - sent_before) * 1000
        for process in attackers:
            process.terminate()
            process.join(timeout=30)
        answered = httpx.post(
            base + "/predict", content=_zeros(body_bytes - 1), headers={"content-type": "application/json"}
        ).status_code
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"attack bodies: {body_bytes - 1} bytes of zeros, each answered {answered}, {attack_rate:.0f} per second"
    )
    print(
        f"server CPU:     {cpu_per_body_ms:.2f} ms per attack body, "
        f"{cpu_per_request_ms:.2f} ms per well-behaved request (all its threads)"
    )
    print(f"alone:          {_percentiles(alone)}")
    print(f"two attackers:  {_percentiles(attacked)}")
    print(f"p99 ratio:      {_at(attacked, 0.99) / _at(alone, 0.99):.1f}x (target: 2x)")
    print(f"load average:   {' '.join(f'{load:.1f}' for load in os.getloadavg())} on {os.cpu_count()} cores")
    return 0


def _cpu_s(pid: int) -> float:
    """User and system CPU seconds of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _body_limit(port: int) -> int:
    """The server's body limit, from the 413 that a too-long Content-Length gets at once."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n")
        answer = sock.recv(65536).decode()
    words = answer.split()
    return int(words[words.index("than") + 1])


if __name__ == "__main__":
    sys.exit(main())
