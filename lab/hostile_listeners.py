"""`python -m lab.hostile_listeners`: what clients without a key cost a keyed one, on every listener.

Starts one `python -m service` (the bundled digits model, an API key, gRPC and the metrics port on their own
ports, an open-file limit of 512) on free loopback ports, and for each attack measures a keyed HTTP client
(one-row /predict, one connection, back to back) and a keyed gRPC client (one-row ModelInfer) alone and
beside it. Attacks, each from processes of their own:

    grpc-hold        300 keyless ModelInfer calls whose message is never sent + 300 health Watch streams
    grpc-flood       64 keyless ModelInfer calls at once, again and again (and the server's CPU per refusal)
    grpc-silent      560 gRPC connections that send the HTTP/2 preface and nothing more
    metrics-trickle  520 metrics-port clients sending a byte every 4 s
    headers          keyless requests of 8,000 tiny headers (and the server's CPU per refusal)
    bytes            8 MB bodies of 2 million empty BYTES elements, binary form, against a BYTES model

The target (docs/hardening.md): no keyed client slowed more than 3x, nothing refused to it, the probes
answering. `--repo DIR` serves another checkout's code (its main, for the figures before a change).
`make bench-hostile-listeners` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
KEY = "lab-hostile-listeners-key-0001"
BEARER = {"authorization": f"Bearer {KEY}"}
ROW = {"instances": [[0.0] * 64]}
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
INFER = "/inference.GRPCInferenceService/ModelInfer"
OPEN_FILES = 512
WORDS_HANDLER = """
import numpy as np
import torch

from service.handler import Handler


class Words(Handler):
    def setup(self, context):
        pass

    def decode(self, inputs):
        return [np.array([[len(inputs["text"][0])]], dtype=np.int64)]

    def predict(self, ids):
        return {"size": ids.sum(dim=1).float()}

    def encode(self, outputs):
        return {"size": outputs["size"]}
"""
WORDS = {
    "name": "words",
    "inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
    "outputs": [{"name": "size", "datatype": "FP32", "shape": [-1]}],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Threads:")).split()[1])


class Server:
    def __init__(self, repo: Path, model: Path | None = None) -> None:
        self.port, self.grpc_port, self.metrics_port = _free_port(), _free_port(), _free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(repo),
            "LIFTOFF_HOST": "127.0.0.1",
            "LIFTOFF_PORT": str(self.port),
            "LIFTOFF_GRPC_PORT": str(self.grpc_port),
            "LIFTOFF_METRICS_PORT": str(self.metrics_port),
            "LIFTOFF_TORCH_THREADS": "1",
            "LIFTOFF_API_KEYS": KEY,
        }
        if model is not None:
            env["LIFTOFF_MODEL_PATH"] = str(model)

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))

        self.process = subprocess.Popen(
            [sys.executable, "-m", "service"],
            cwd=repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=limit,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 600  # a loaded machine takes minutes to import torch
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not become ready")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


# The keyed clients ---------------------------------------------------------------------------------------


def _http_client(server: Server, seconds: float, body: Any, path: str = "/predict") -> dict[str, Any]:
    latencies, failures = [], 0
    with httpx.Client(base_url=server.base, timeout=10, headers=BEARER) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            try:
                ok = client.post(path, **body).status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            failures += not ok
    return {"n": len(latencies), "failed": failures, "p50": _at(latencies, 0.5), "p99": _at(latencies, 0.99)}


def _grpc_client(server: Server, seconds: float) -> dict[str, Any]:
    import grpc
    import numpy as np

    from service.grpc.servicer import pb, pb_grpc

    request = pb.ModelInferRequest(model_name="digits")
    request.inputs.add(name="pixels", datatype="FP32", shape=[1, 64])
    request.raw_input_contents.append(np.zeros((1, 64), dtype="<f4").tobytes())
    latencies, failures = [], 0
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            try:
                stub.ModelInfer(request, metadata=list(BEARER.items()), timeout=5)
            except grpc.RpcError:
                failures += 1
            latencies.append((time.perf_counter() - started) * 1000)
    return {"n": len(latencies), "failed": failures, "p50": _at(latencies, 0.5), "p99": _at(latencies, 0.99)}


def _at(samples: list[float], share: float) -> float:
    ordered = sorted(samples) or [0.0]
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# The attackers, each run in a spawned process ------------------------------------------------------------


def grpc_hold(port: int, counter: Any) -> None:
    import grpc

    async def never() -> Any:
        await asyncio.Event().wait()
        yield b""

    async def run() -> None:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        options = [("grpc.use_local_subchannel_pool", 1)]
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as calls,
            grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as watches,
        ):
            held = calls.stream_unary(
                INFER, request_serializer=lambda m: m, response_deserializer=lambda m: m
            )
            watch = health_pb2_grpc.HealthStub(watches).Watch

            async def hold_call() -> None:
                while True:
                    try:
                        await held(never())
                    except grpc.aio.AioRpcError:
                        counter.value += 1
                        await asyncio.sleep(1.0)  # holding, not flooding: grpc-flood is that

            async def hold_watch() -> None:
                while True:
                    try:
                        async for _ in watch(health_pb2.HealthCheckRequest()):
                            pass
                    except grpc.aio.AioRpcError:
                        counter.value += 1
                        await asyncio.sleep(1.0)  # holding, not flooding: grpc-flood is that

            await asyncio.gather(*(hold_call() for _ in range(300)), *(hold_watch() for _ in range(300)))

    asyncio.run(run())


def grpc_flood(port: int, counter: Any, raw: bytes = b"") -> None:
    """`raw`: a serialized one-row ModelInfer request, built by the parent (importing the server's stubs
    here left this process spinning on the client side instead of calling)."""
    import grpc

    async def run() -> None:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(INFER)

            async def one() -> None:
                while True:
                    try:
                        await call(raw, timeout=10)
                    except grpc.aio.AioRpcError:
                        counter.value += 1

            await asyncio.gather(*(one() for _ in range(64)))

    asyncio.run(run())


def _hold_sockets(port: int, count: int, first: bytes, trickle_every_s: float | None, counter: Any) -> None:
    socks: list[socket.socket | None] = [None] * count
    while True:
        for index, sock in enumerate(socks):
            try:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                    sock.setblocking(False)
                    sock.send(first)
                    socks[index] = sock
                    counter.value += 1
                elif trickle_every_s is not None:
                    sock.send(b"G")
                else:
                    if sock.recv(4096) == b"":
                        raise ConnectionError
            except BlockingIOError:
                pass
            except OSError:
                if sock is not None:
                    sock.close()
                socks[index] = None
        time.sleep(trickle_every_s or 0.5)


def grpc_silent(port: int, counter: Any) -> None:
    _hold_sockets(port, 560, PREFACE, None, counter)


def metrics_trickle(port: int, counter: Any) -> None:
    _hold_sockets(port, 520, b"G", 4.0, counter)


def headers(port: int, counter: Any) -> None:
    request = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\n" + b"".join(b"h%d: v\r\n" % i for i in range(8000)) + b"\r\n"
    )
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(request)
                while sock.recv(65536):
                    pass
        except OSError:
            pass
        counter.value += 1


def bytes_bodies(port: int, counter: Any) -> None:
    payload = b"\0\0\0\0" * 2_000_000
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "text",
                    "datatype": "BYTES",
                    "shape": [1],
                    "parameters": {"binary_data_size": len(payload)},
                }
            ]
        }
    ).encode()
    body = header + payload
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=BEARER) as client:
        while True:
            client.post(
                "/v2/models/words/infer",
                content=body,
                headers={
                    "inference-header-content-length": str(len(header)),
                    "content-type": "application/octet-stream",
                },
            )
            counter.value += 1


# The runs ------------------------------------------------------------------------------------------------

PORTS: dict[str, Callable[[Server], int]] = {
    "grpc-hold": lambda s: s.grpc_port,
    "grpc-flood": lambda s: s.grpc_port,
    "grpc-silent": lambda s: s.grpc_port,
    "metrics-trickle": lambda s: s.metrics_port,
    "headers": lambda s: s.port,
    "bytes": lambda s: s.port,
}
ATTACKS: dict[str, Callable[[int, Any], None]] = {
    "grpc-hold": grpc_hold,
    "grpc-flood": grpc_flood,
    "grpc-silent": grpc_silent,
    "metrics-trickle": metrics_trickle,
    "headers": headers,
    "bytes": bytes_bodies,
}


def _measure(server: Server, seconds: float, bytes_model: bool) -> dict[str, Any]:
    if bytes_model:
        binary = b"\x02\0\0\0hi"
        header = json.dumps(
            {
                "inputs": [
                    {"name": "text", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 6}}
                ]
            }
        ).encode()
        body = {"content": header + binary, "headers": {"inference-header-content-length": str(len(header))}}
        return {"http": _http_client(server, seconds, body, "/v2/models/words/infer")}
    results: dict[str, Any] = {}
    threads = [
        threading.Thread(target=lambda: results.update(http=_http_client(server, seconds, {"json": ROW}))),
        threading.Thread(target=lambda: results.update(grpc=_grpc_client(server, seconds))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _probes(server: Server) -> str:
    answers = []
    for path in ("/readyz", "/healthz"):
        try:
            answers.append(str(httpx.get(server.base + path, timeout=5).status_code))
        except httpx.HTTPError as exc:
            answers.append(type(exc).__name__)
    return "/".join(answers)


def _quiet(target: Callable[..., None], port: int, counter: Any, *args: Any) -> None:
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the process's whole life)
    target(port, counter, *args)


def _infer_bytes() -> bytes:
    import numpy as np

    from service.grpc.servicer import pb

    request = pb.ModelInferRequest(model_name="digits")
    request.inputs.add(name="pixels", datatype="FP32", shape=[1, 64])
    request.raw_input_contents.append(np.zeros((1, 64), dtype="<f4").tobytes())
    return bytes(request.SerializeToString())


def run(name: str, server: Server, seconds: float, bytes_model: bool) -> None:
    alone = _measure(server, seconds, bytes_model)
    context = multiprocessing.get_context("spawn")
    counter = context.Value("q", 0, lock=False)
    extra = (_infer_bytes(),) if name == "grpc-flood" else ()
    attacker = context.Process(
        target=_quiet, args=(ATTACKS[name], PORTS[name](server), counter, *extra), daemon=True
    )
    cpu_before = _cpu_s(server.process.pid)
    attacker.start()
    time.sleep(3.0)
    attacked = _measure(server, seconds, bytes_model)
    probes = _probes(server)
    threads = _threads(server.process.pid)
    files = len(os.listdir(f"/proc/{server.process.pid}/fd"))
    # The server's CPU per refused attack request, with the attacker alone (less at the mercy of the machine's
    # load than the keyed client's latency), counted by the server's own metrics.
    cpu_before, refused_before = _cpu_s(server.process.pid), _refused(server)
    time.sleep(3.0)
    cpu, refused = _cpu_s(server.process.pid) - cpu_before, _refused(server) - refused_before
    attacker.kill()
    attacker.join()
    print(
        f"{name}: during the attack probes {probes}, server threads {threads}, open files {files}; "
        f"attacker sockets opened {counter.value}"
    )
    for protocol, before in alone.items():
        after = attacked[protocol]
        ratio = after["p99"] / before["p99"] if before["p99"] else float("inf")
        rate = before["n"] / max(1, after["n"])
        print(
            f"  keyed {protocol:4}: alone n={before['n']} p50 {before['p50']:.2f} ms p99 {before['p99']:.2f} ms "
            f"failed {before['failed']} | attacked n={after['n']} p50 {after['p50']:.2f} ms "
            f"p99 {after['p99']:.2f} ms failed {after['failed']} | p99 {ratio:.1f}x, {rate:.1f}x fewer requests"
        )
    if refused and refused == refused:  # (not NaN)
        print(
            f"  server CPU per refused attack request: {cpu / refused * 1e6:.0f} us ({refused / 3:.0f} per second)"
        )


def _refused(server: Server) -> float:
    """Requests the server refused (4xx and 5xx, both protocols) and heads refused before parsing."""
    try:
        text = httpx.get(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10).text
    except httpx.HTTPError:  # the metrics port is what the attack holds
        return float("nan")
    total = 0.0
    for line in text.splitlines():
        if (line.startswith("liftoff_requests_total{") and 'status="2' not in line) or line.startswith(
            'liftoff_connections_closed_total{reason="header_too_large"}'
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measurement")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose server runs")
    parser.add_argument("attacks", nargs="*", default=list(ATTACKS), help="which attacks (default: all)")
    args = parser.parse_args()
    print(f"server code: {args.repo}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for name in args.attacks:
        with tempfile.TemporaryDirectory() as folder:
            model = None
            if name == "bytes":
                model = Path(folder) / "words"
                model.mkdir()
                (model / "model.json").write_text(json.dumps(WORDS))
                (model / "handler.py").write_text(WORDS_HANDLER)
            server = Server(args.repo, model)
            try:
                run(name, server, args.seconds, name == "bytes")
            finally:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
