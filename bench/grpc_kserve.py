"""`python -m bench.grpc_kserve`: Liftoff's gRPC ModelInfer on digits beside KServe's own Python gRPC server, and
Liftoff with two workers beside one, under the same h2load load (bench/grpc_load.py: c HTTP/2 connections,
one call in flight on each; the frame tritonclient.grpc sends).

Rows, one server at a time:
- Liftoff, one worker;
- KServe's `ModelServer` (bench/competitors/kserve_digits.py, in .venv-kserve) serving the same TorchScript
  file, one worker, its per-call log lines off as Liftoff's are;
- Liftoff, two workers (LIFTOFF_WORKERS=2), with grpc's default poller and with each `--poll-strategy`.

CPU ms/call is the server's process tree's CPU time over the point divided by the calls answered: the
figure that stays comparable when other work shares the machine, and the one two workers are judged by
(no more CPU per call than one). These are figures, not assertions; docs/protocols.md records a run.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import torch

from bench.grpc_floor import answers_200, cpu_point, digits_table, listening, server_process
from bench.servers import free_port

REPO = Path(__file__).resolve().parent.parent
KSERVE_PYTHON = REPO / ".venv-kserve" / "bin" / "python"
KSERVE_APP = REPO / "bench" / "competitors" / "kserve_digits.py"
MODEL = REPO / "models" / "digits" / "model.pt"
TORCH_SITE = str(Path(torch.__file__).resolve().parents[1])


def liftoff_row(name: str, workers: int, body: Path, c: int, seconds: float, env: dict[str, str]) -> str:
    http_port, grpc_port = free_port(), free_port()
    settings = {
        "LIFTOFF_HOST": "127.0.0.1",
        "LIFTOFF_PORT": str(http_port),
        "LIFTOFF_GRPC_PORT": str(grpc_port),
        "LIFTOFF_WORKERS": str(workers),
        "LIFTOFF_LOG_LEVEL": "warning",
        **env,
    }
    base = f"http://127.0.0.1:{http_port}"
    ready = functools.partial(answers_200, base + "/readyz")
    with server_process([sys.executable, "-m", "service"], settings, ready) as liftoff:
        return f"| {name} | {c} | {cpu_point(liftoff.pid, grpc_port, base + '/metrics', body, c, seconds)} |"


def kserve_row(body: Path, c: int, seconds: float) -> str:
    if not KSERVE_PYTHON.exists():
        raise SystemExit("no .venv-kserve: `make venv` creates it from requirements/kserve.txt")
    http_port, grpc_port = free_port(), free_port()
    command = [str(KSERVE_PYTHON), str(KSERVE_APP), str(MODEL), str(http_port), str(grpc_port), TORCH_SITE]
    ready = functools.partial(answers_200, f"http://127.0.0.1:{http_port}/v2/models/digits/ready")
    with server_process(command, {}, ready) as kserve:
        # KServe's server has no per-status call count: a gRPC error inside an HTTP 200 is not counted here.
        assert listening(grpc_port)
        return f"| KServe ModelServer, 1 worker | {c} | {cpu_point(kserve.pid, grpc_port, None, body, c, seconds)} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument(
        "--poll-strategy",
        action="append",
        default=[],
        help="a GRPC_POLL_STRATEGY for an extra two-worker row (epoll1, poll); repeatable",
    )
    args = parser.parse_args()
    c, seconds = args.concurrency, args.seconds
    with digits_table("server, digits over gRPC") as body:
        print(liftoff_row("Liftoff, 1 worker", 1, body, c, seconds, {}), flush=True)
        print(kserve_row(body, c, seconds), flush=True)
        print(liftoff_row("Liftoff, 2 workers", 2, body, c, seconds, {}), flush=True)
        for strategy in args.poll_strategy:
            name = f"Liftoff, 2 workers, GRPC_POLL_STRATEGY={strategy}"
            print(liftoff_row(name, 2, body, c, seconds, {"GRPC_POLL_STRATEGY": strategy}), flush=True)


if __name__ == "__main__":
    main()
