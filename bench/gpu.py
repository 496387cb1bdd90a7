"""The GPU run: the ResNet-18-sized model served on one GPU in bfloat16, against the GPU's own ceiling.

    python -m bench.gpu            # or: make bench-gpu

Needs a CUDA device, a Python with a CUDA build of torch and the project's dependencies (it serves with the
interpreter that runs it), and wrk. It measures the forward pass alone on the GPU (bfloat16, channels-last,
input already on the device) at several batch sizes, then serves the model with `LIFTOFF_DEVICE=cuda
LIFTOFF_DTYPE=bfloat16`, drives it with binary-tensor requests at rising concurrency, and writes the
section "GPU run" of docs/benchmarks.md. Without a GPU it says so and writes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from bench import catalog, envs, loadgen, resnet
from bench.benchmarks_doc import DOC, DOC_PREAMBLE, replace_section
from bench.memory import PeakMemory
from bench.servers import Launch, ServerKind, serve

BATCHES = (1, 8, 32, 64, 128, 256)


def gpu_ceiling(model_path: Path, seconds: float) -> dict[str, float]:
    """Images/s of the forward pass alone, per batch size, synchronised so the GPU's work is counted."""
    module = torch.jit.load(str(model_path), map_location="cuda").eval()
    module = module.to(torch.bfloat16).to(memory_format=torch.channels_last)
    rates: dict[str, float] = {}
    with torch.inference_mode():
        for batch in BATCHES:
            x = torch.randint(0, 256, (batch, *resnet.IMAGE_SHAPE), dtype=torch.uint8, device="cuda")
            x = x.contiguous(memory_format=torch.channels_last)
            for _ in range(5):
                module(x)
            torch.cuda.synchronize()
            runs, started = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - started) < seconds or runs < 3:
                module(x)
                torch.cuda.synchronize()
                runs += 1
            rates[f"bf16 channels-last batch {batch}"] = runs * batch / elapsed
    return rates


def _liftoff_gpu(max_batch: int, wait_ms: float) -> ServerKind:
    def launch(model: Any, port: int, _: Path) -> Launch:
        env = {
            "LIFTOFF_HOST": "127.0.0.1",
            "LIFTOFF_PORT": str(port),
            "LIFTOFF_MODEL_PATH": str(model.path),
            "LIFTOFF_DEVICE": "cuda",
            "LIFTOFF_DTYPE": "bfloat16",
            "LIFTOFF_MAX_BATCH_SIZE": str(max_batch),
            "LIFTOFF_MAX_BATCH_WAIT_MS": str(wait_ms),
            "LIFTOFF_QUEUE_LIMIT": str(max(4 * max_batch, 1024)),
            "LIFTOFF_LOG_LEVEL": "warning",
        }
        return Launch([sys.executable, "-m", "service"], env, model.payloads["binary"].path, "binary")

    return ServerKind("liftoff-gpu", "Liftoff, GPU, bfloat16, binary tensors", launch)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,8,32,64,256")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--max-batch", type=int, default=128)
    parser.add_argument("--wait-ms", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=DOC)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: the GPU run needs one; nothing written", file=sys.stderr)
        return 1
    loadgen.wrk_binary()
    model = catalog.load([resnet.NAME])[resnet.NAME]
    model = dataclasses.replace(model, max_batch=args.max_batch, wait_ms=args.wait_ms)
    started = datetime.now(UTC)
    gpu = torch.cuda.get_device_name(0)
    ceiling = gpu_ceiling(model.path, 3.0)
    best = max(ceiling.values())
    print(json.dumps(ceiling, indent=1))
    workdir = envs.BENCH_DIR / "run-gpu"
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    with serve(_liftoff_gpu(args.max_batch, args.wait_ms), model, workdir) as server:
        script = loadgen.write_lua(server.payload, workdir / "gpu.lua")
        url = server.base_url + server.path
        with PeakMemory(server.process.pid) as memory:
            loadgen.run_wrk(url, script, 64, 3)
            for c in (int(v) for v in args.concurrency.split(",")):
                point = loadgen.run_wrk(url, script, c, args.seconds)
                rows.append(point)
                print(
                    f"c={c} {point.rps:,.1f} images/s p50 {point.p50_ms:.1f} ms p99 {point.p99_ms:.1f} ms "
                    f"errors {point.errors}",
                    flush=True,
                )
        start_s, peak = server.start_s, memory.peak_mib
    smi = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    lines = [
        "## GPU run: `python -m bench.gpu`",
        "",
        f"- When: {started:%Y-%m-%d %H:%M} UTC. GPU: {gpu}; torch {torch.__version__}, "
        f"{os.cpu_count()} CPU cores. Server: `LIFTOFF_DEVICE=cuda LIFTOFF_DTYPE=bfloat16 "
        f"LIFTOFF_MAX_BATCH_SIZE={args.max_batch} LIFTOFF_MAX_BATCH_WAIT_MS={args.wait_ms:g}`, binary tensor "
        f"requests (one 3x224x224 uint8 image each), `wrk -t1`, {args.seconds:g} s per point.",
        f"- Ready after {start_s:.1f} s; peak resident memory of the server {peak:,.0f} MiB; GPU memory in use "
        f"at the end: {smi or 'unknown'}.",
        "",
        "| forward pass alone (input on the GPU) | images/s |",
        "|---|---:|",
        *[f"| {name} | {rate:,.0f} |" for name, rate in ceiling.items()],
        "",
        "| c | images/s | p50 ms | p99 ms | errors | share of the best forward pass |",
        "|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {p.concurrency} | {p.rps:,.1f} | {p.p50_ms:.1f} | {p.p99_ms:.1f} | {p.errors} | "
            f"{p.rps / best:.0%} |"
            for p in rows
        ],
    ]
    replace_section(args.out, "gpu", "\n".join(lines), DOC_PREAMBLE)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
