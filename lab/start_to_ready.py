"""`python -m lab.start_to_ready`: how long `python -m service` takes from process start to a 200 on /readyz,
for the bundled digits model or a model directory, over several fresh processes (a cold start's last stage).

    .venv/bin/python -m lab.start_to_ready                                   # digits, 5 runs
    .venv/bin/python -m lab.start_to_ready --model examples/image-classifier --runs 7

Each run is a new process (nothing warm but the OS's file cache), started and polled the way the lab starts
its replicas (`lab.replicas.Replica`: one torch thread, /readyz polled every 0.1 s). The load average is
printed beside the figures because on a shared machine it moves them more than anything else.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lab.ports import free_ports
from lab.replicas import Replica, ReplicaError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab.start_to_ready", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model", type=Path, help="a model directory or file (LIFTOFF_MODEL_PATH); default: the digits model"
    )
    parser.add_argument("--runs", type=int, default=5, help="fresh processes to time (default 5)")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds one start may take (default 120)"
    )
    return parser.parse_args(argv)


def time_one_start(model: Path | None, workdir: Path, run: int, timeout_s: float) -> float:
    """Seconds from spawning one server process to its first 200 on /readyz; the process is stopped after."""
    http_port, grpc_port = free_ports(2)
    env = {"LIFTOFF_GRPC_PORT": str(grpc_port)}  # not the default 8081, which another server may hold
    if model is not None:
        env["LIFTOFF_MODEL_PATH"] = str(model.resolve())
    replica = Replica(f"start-{run}", http_port, workdir / f"start-{run}.log", env=env)
    started = time.monotonic()
    replica.start()
    try:
        replica.wait_ready(timeout_s)
        return time.monotonic() - started
    finally:
        replica.stop(timeout_s=20.0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.runs < 1 or args.timeout <= 0:
        print(
            "python -m lab.start_to_ready: --runs must be at least 1 and --timeout above 0", file=sys.stderr
        )
        return 2
    if args.model is not None and not args.model.exists():
        print(f"python -m lab.start_to_ready: no model at {args.model}", file=sys.stderr)
        return 2
    name = str(args.model) if args.model is not None else "digits (the bundled model)"
    print(f"process start to ready, {name}, {args.runs} runs; load average before: {load_average()}")
    seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="liftoff-start-") as workdir:
        for run in range(1, args.runs + 1):
            try:
                seconds.append(time_one_start(args.model, Path(workdir), run, args.timeout))
            except ReplicaError as error:
                print(f"run {run}: {error}", file=sys.stderr)
                return 1
            print(f"  run {run}: {seconds[-1]:.2f} s", flush=True)
    print(
        f"min {min(seconds):.2f} s, median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s; "
        f"load average after: {load_average()}"
    )
    return 0


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
