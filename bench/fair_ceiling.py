"""The fair ceiling: the best the model alone can do on this machine, over every layout a server could use.

One process with every thread is not the limit when the server runs several one-thread workers: two
one-thread processes side by side can do more than one two-thread process (docs/benchmarks.md). So the
ceiling runs the forward pass in every layout of 1..cores processes x 1..cores threads, all processes of a
layout measuring the same configuration at the same time (bench/forward_ceiling.py --synchronised), sums
their samples/s, and takes the best layout and configuration per precision. A server's share of it above
100% then means the ceiling missed a layout, and the report says so (bench/benchmarks_doc.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Between two configurations' slots: room for the slowest process to finish its last run (a ResNet
# batch of 64 takes about a second on 2 cores) before the next configuration starts.
SLOT_MARGIN_S = 1.5


def layouts(cores: int) -> list[tuple[int, int]]:
    """(processes, threads) for 1..cores each: oversubscribed ones included, since servers can be."""
    return [(processes, threads) for processes in range(1, cores + 1) for threads in range(1, cores + 1)]


def describe(processes: int, threads: int) -> str:
    return (
        f"{processes} process{'es' if processes > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}"
    )


def run_layout(
    python: str,
    model: Path,
    ceiling_args: Sequence[str],
    seconds: float,
    processes: int,
    threads: int,
    cwd: Path,
) -> dict[str, float]:
    """Summed samples/s per configuration of `processes` processes with `threads` threads each."""
    command = [
        python,
        "-m",
        "bench.forward_ceiling",
        "--model",
        str(model),
        "--seconds",
        str(seconds),
        "--threads",
        str(threads),
        "--synchronised",
        *ceiling_args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    children = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=cwd, env=env)
        for _ in range(processes)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            if line != "warm":
                raise RuntimeError(f"bench.forward_ceiling did not warm up: {line!r}")
        epoch = time.time() + 0.5
        for child in children:
            assert child.stdin is not None
            child.stdin.write(f"go {epoch} {seconds + SLOT_MARGIN_S}\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, _ = child.communicate(timeout=3600)
            if child.returncode != 0:
                raise RuntimeError(f"bench.forward_ceiling exited with {child.returncode}")
            results.append(json.loads(out.strip().splitlines()[-1])["configs"])
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    return {name: sum(result[name] for result in results) for name in results[0]}


def fair_ceiling(
    python: str, model: Path, ceiling_args: Sequence[str], seconds: float, cores: int, cwd: Path
) -> dict[str, Any]:
    """Every layout's summed figures, and per precision the best rate with the layout that reached it."""
    by_layout: dict[str, dict[str, float]] = {}
    for processes, threads in layouts(cores):
        by_layout[describe(processes, threads)] = run_layout(
            python, model, ceiling_args, seconds, processes, threads, cwd
        )
    return {"layouts": by_layout, "best": best_of(by_layout)}


def best_of(by_layout: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for layout, configs in by_layout.items():
        for config, value in configs.items():
            precision = config.split()[0]
            if value > best.get(precision, {}).get("rate", 0.0):
                best[precision] = {"rate": value, "layout": layout, "config": config}
    return best
