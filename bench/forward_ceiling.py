"""The forward pass alone, with no server: samples per second of one process, per configuration.

    python -m bench.forward_ceiling --model models/digits/model.pt --batches 256 --seconds 3
    python -m bench.forward_ceiling --model .bench/models/resnet18/model.pt --batches 1,2,4,8 --bf16-batches 16,32,64

Prints one JSON object: samples/s per configuration and the best per precision. `--threads` sets torch's
intra-op threads (default: torch's own). With `--synchronised`, several of these processes measure side by
side (bench/fair_ceiling.py): each warms every configuration, prints `warm`, waits for `go <epoch> <slot>`
on stdin, and measures configuration i in the time slot that starts at epoch + i * slot, so processes that
share the cores measure the same configuration at the same time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.competitors.codec import IMAGE_SHAPE
from service.model.served import load_model


def _inputs(model_path: str, batch: int) -> torch.Tensor:
    meta = json.loads(Path(model_path).with_suffix(".json").read_text(encoding="utf-8"))
    spec = meta["inputs"][0]
    row_shape = spec["shape"][1:]
    if spec["datatype"] == "UINT8":
        return torch.randint(0, 256, (batch, *row_shape), dtype=torch.uint8)
    return torch.from_numpy(np.random.default_rng(0).uniform(0, 16, (batch, *row_shape)).astype(np.float32))


def rate(
    module: torch.nn.Module, x: torch.Tensor, seconds: float, autocast: torch.dtype | None = None
) -> float:
    """Samples per second over at least `seconds` (after warm-up runs that let TorchScript specialise)."""
    ctx = (
        torch.autocast("cpu", dtype=autocast)
        if autocast is not None
        else torch.autocast("cpu", enabled=False)
    )
    with torch.inference_mode(), ctx:
        # TorchScript's profiling executor runs a model slowly a few times before it optimises it.
        warm, started = 0, time.perf_counter()
        while warm < 5 or time.perf_counter() - started < 1.0:
            module(x)
            warm += 1
        runs, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds or runs < 2:
            module(x)
            runs += 1
    return runs * x.shape[0] / elapsed


Config = tuple[str, torch.nn.Module, torch.Tensor, "torch.dtype | None"]


def configurations(model_path: str, batches: list[int], bf16_batches: list[int]) -> list[Config]:
    """Every way to run the model a server could use: as loaded and as Liftoff optimises it, per batch."""
    configs: list[Config] = []
    module = torch.jit.load(model_path).eval()
    for batch in batches:
        configs.append((f"fp32 batch {batch}", module, _inputs(model_path, batch), None))
    # The same model as Liftoff serves it on CPU (service/model/optimize.py): frozen, and for convolutions
    # rewritten for oneDNN. A share of "the ceiling" is taken against the best of both.
    served = load_model(Path(model_path), "cpu", "float32").module
    assert served is not None  # a model file always loads into a module
    for batch in batches:
        configs.append(
            (f"fp32 as Liftoff optimises it, batch {batch}", served, _inputs(model_path, batch), None)
        )
    if bf16_batches:
        images = len(IMAGE_SHAPE) + 1
        last = torch.jit.load(model_path).eval().to(memory_format=torch.channels_last)
        as_bf16 = torch.jit.load(model_path).eval().to(torch.bfloat16).to(memory_format=torch.channels_last)
        served_bf16 = load_model(Path(model_path), "cpu", "bfloat16").module
        assert served_bf16 is not None
        for batch in bf16_batches:
            x = _inputs(model_path, batch)
            if x.dim() == images:
                x = x.contiguous(memory_format=torch.channels_last)
            configs.append((f"bf16 autocast channels-last batch {batch}", last, x, torch.bfloat16))
            configs.append((f"bf16 weights channels-last batch {batch}", as_bf16, x, None))
            configs.append((f"bf16 as Liftoff optimises it, batch {batch}", served_bf16, x, None))
    return configs


def best_per_precision(results: dict[str, float]) -> dict[str, float]:
    return {
        precision: max((v for k, v in results.items() if k.startswith(precision)), default=0.0)
        for precision in ("fp32", "bf16")
    }


def measure(
    model_path: str, batches: list[int], bf16_batches: list[int], seconds: float, synchronised: bool = False
) -> dict[str, Any]:
    configs = configurations(model_path, batches, bf16_batches)
    slots: list[float] = []
    if synchronised:
        for _, module, x, autocast in configs:
            rate(module, x, 0.0, autocast)
        print("warm", flush=True)
        _, epoch, slot = sys.stdin.readline().split()
        slots = [float(epoch) + i * float(slot) for i in range(len(configs))]
    results: dict[str, float] = {}
    for i, (name, module, x, autocast) in enumerate(configs):
        if slots:
            time.sleep(max(0.0, slots[i] - time.time()))
        results[name] = rate(module, x, seconds, autocast)
    return {"threads": torch.get_num_threads(), "configs": results, "best": best_per_precision(results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--batches", default="256")
    parser.add_argument("--bf16-batches", default="")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--synchronised", action="store_true", help="wait for `go EPOCH SLOT` on stdin")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ints = lambda text: [int(v) for v in text.split(",") if v]  # noqa: E731
    result = measure(args.model, ints(args.batches), ints(args.bf16_batches), args.seconds, args.synchronised)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
