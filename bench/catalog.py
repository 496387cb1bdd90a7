"""The models the benchmark serves, their payloads, and which servers each is measured with."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import bodies, resnet
from bench.envs import BENCH_DIR, REPO
from bench.loadgen import Payload
from bench.servers import BenchModel

DIGITS_PATH = REPO / "models" / "digits" / "model.pt"
RESNET_DIR = BENCH_DIR / "models" / resnet.NAME
COMPETITORS = ("fastapi-1", "fastapi-2", "litserve", "torchserve")


def _digits_model() -> Path:
    if not DIGITS_PATH.exists():
        subprocess.run(
            [sys.executable, "-m", "service.model.train_digits", "--out", str(DIGITS_PATH.parent)],
            check=True,
            cwd=REPO,
        )
    return DIGITS_PATH


def _resnet_model() -> Path:
    path = RESNET_DIR / "model.pt"
    if not path.exists() or path.stat().st_mtime < Path(resnet.__file__).stat().st_mtime:
        subprocess.run([sys.executable, "-m", "bench.resnet", "--out", str(RESNET_DIR)], check=True, cwd=REPO)
    return path


def load(names: list[str]) -> dict[str, BenchModel]:
    folder = BENCH_DIR / "payloads"
    found: dict[str, BenchModel] = {}
    if "digits" in names:
        found["digits"] = BenchModel(
            name="digits",
            path=_digits_model(),
            # Issue 10's TorchServe configuration: up to 32 rows, 5 ms; Liftoff's own come from its sweep.
            max_batch=32,
            wait_ms=5.0,
            payloads={
                "json": Payload(
                    "/v2/models/digits/infer", bodies.write(folder, "digits.json", bodies.digits_json())
                )
            },
            servers=("liftoff", *COMPETITORS),
            # HTTP-bound: one process per core, each with one torch thread and its own batcher.
            liftoff_env={
                "LIFTOFF_WORKERS": "2",
                "LIFTOFF_MAX_BATCH_SIZE": "64",
                "LIFTOFF_MAX_BATCH_WAIT_MS": "2",
            },
        )
    if resnet.NAME in names:
        body, header_length = bodies.image_binary()
        found[resnet.NAME] = BenchModel(
            name=resnet.NAME,
            path=_resnet_model(),
            max_batch=8,
            wait_ms=5.0,
            payloads={
                "json": Payload("/predict", bodies.write(folder, "image.json", bodies.image_json())),
                "binary": Payload(
                    f"/v2/models/{resnet.NAME}/infer",
                    bodies.write(folder, "image.bin", body),
                    content_type="application/octet-stream",
                    headers=(("Inference-Header-Content-Length", str(header_length)),),
                ),
            },
            servers=("liftoff", "liftoff-binary", "liftoff-bf16", "liftoff-bf16-json", *COMPETITORS),
            # Compute-bound, yet two one-thread processes beat one two-thread process (swept with
            # --liftoff-env: FP32 c=64 48 -> 56 images/s, bf16 74 -> 88); FP32 batches of 8 beat 4 and 16.
            liftoff_env={"LIFTOFF_WORKERS": "2"},
        )
    return found
