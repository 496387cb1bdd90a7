"""`python -m bench.grpc_floor`: the floor grpcio sets under Liftoff's gRPC row, beside that row.

gRPC should be at least as fast as HTTP JSON at c=64. This measures what the gRPC library itself
costs per call on this machine, with nothing of Liftoff's in the way: a ModelInfer servicer that answers
every call with the same digits label (no model, no batcher, no metrics), in one process on uvloop, as
Liftoff's workers run grpc.aio. Three rows, each under the same h2load load as the liftoff-grpc row
(bench/grpc_load.py: c HTTP/2 connections, one call in flight on each):

- the echo servicer alone;
- the echo servicer handing each call to a thread and back (`run_in_executor` of a no-op): what passing work
  to an inference thread costs when grpc's own poller thread competes for the interpreter;
- Liftoff's gRPC listener serving digits, one worker.

CPU ms/call is the server process's CPU time over the point divided by the calls answered: the figure that
stays comparable when other work shares the machine. Run it on a quiet machine; it writes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.grpc_load import digits_frame, run_h2load
from bench.memory import tree_cpu_seconds
from bench.servers import free_port

REPO = Path(__file__).resolve().parent.parent


def _serve_echo(port: int, hop: bool) -> None:
    import grpc
    import uvloop

    from service.grpc.stubs import load

    pb, pb_grpc = load()
    answer = pb.ModelInferResponse(model_name="digits", model_version="1")
    answer.outputs.add(name="label", datatype="INT64", shape=[1])
    answer.raw_output_contents.append(bytes(8))

    class Echo(pb_grpc.GRPCInferenceServiceServicer):  # type: ignore[name-defined]
        async def ModelInfer(self, request: Any, context: Any) -> Any:
            if hop:
                await asyncio.get_running_loop().run_in_executor(None, int)
            return answer

    async def main() -> None:
        server = grpc.aio.server()
        pb_grpc.add_GRPCInferenceServiceServicer_to_server(Echo(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()

    uvloop.run(main())


@contextmanager
def server_process(
    command: list[str], env: dict[str, str], ready: Callable[[], bool]
) -> Iterator[subprocess.Popen[bytes]]:
    """The server, its output kept aside and shown only when it does not start."""
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            command, cwd=REPO, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 180  # a busy machine starts a server slowly
            while not ready():
                if process.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    tail = output.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"{' '.join(command)} did not start:\n{tail}")
                time.sleep(0.1)
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (127.0.0.1 only)
            return bool(response.status == 200)
    except OSError:
        return False


def cpu_point(pid: int, port: int, metrics_url: str | None, body: Path, c: int, seconds: float) -> str:
    time.sleep(1)  # grpc's threads settle after start-up
    log = body.with_suffix(".log")
    cpu_before = tree_cpu_seconds(pid)
    result = run_h2load(f"http://127.0.0.1:{port}", metrics_url, body, c, seconds, log)
    cpu = tree_cpu_seconds(pid) - cpu_before
    answered = max(result.requests - result.errors, 1)
    return (
        f"{result.requests / result.seconds:,.0f} | {result.p99_ms:.1f} | {result.errors} | "
        f"{1000 * cpu / answered:.3f} | {cpu / result.seconds:.2f}"
    )


@contextmanager
def digits_table(server_column: str) -> Iterator[Path]:
    """Print the table's head; yield a file with one digits request frame, the body h2load sends."""
    print(f"| {server_column} | c | calls/s | p99 ms | errors | CPU ms/call | cores |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        body = Path(tmp) / "digits.grpc"
        body.write_bytes(digits_frame())
        yield body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--serve-echo", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--hop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_echo:
        _serve_echo(args.serve_echo, args.hop)
        return
    c, seconds = args.concurrency, args.seconds
    with digits_table("server (one process)") as body:
        for name, hop in (("grpc.aio echo", False), ("grpc.aio echo, one thread hop per call", True)):
            port = free_port()
            command = [sys.executable, "-m", "bench.grpc_floor", "--serve-echo", str(port)]
            with server_process(
                command + (["--hop"] if hop else []), {}, functools.partial(listening, port)
            ) as echo:
                print(f"| {name} | {c} | {cpu_point(echo.pid, port, None, body, c, seconds)} |", flush=True)
        http_port, grpc_port = free_port(), free_port()
        env = {
            "LIFTOFF_HOST": "127.0.0.1",
            "LIFTOFF_PORT": str(http_port),
            "LIFTOFF_GRPC_PORT": str(grpc_port),
            "LIFTOFF_WORKERS": "1",
        }
        base = f"http://127.0.0.1:{http_port}"
        with server_process(
            [sys.executable, "-m", "service"], env, functools.partial(answers_200, base + "/readyz")
        ) as liftoff:
            row = cpu_point(liftoff.pid, grpc_port, base + "/metrics", body, c, seconds)
            print(f"| Liftoff gRPC, digits, 1 worker | {c} | {row} |", flush=True)


if __name__ == "__main__":
    main()
