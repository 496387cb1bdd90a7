"""The models the benchmark serves, their payloads, and which servers each is measured with."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bench import bodies, resnet
from bench.envs import BENCH_DIR, REPO
from bench.loadgen import Payload
from bench.servers import BenchModel
from service.settings import ENV_PREFIX, stack_keys

DIGITS_PATH = REPO / "models" / "digits" / "model.pt"
RESNET_DIR = BENCH_DIR / "models" / resnet.NAME
COMPETITORS = ("fastapi-1", "fastapi-2", "litserve", "torchserve")
IMAGE_EXAMPLE = REPO / "examples" / "image-classifier"
IMAGE_NAME = "image-classifier"
IMAGE_DIR = BENCH_DIR / "models" / IMAGE_NAME


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


def _image_model() -> Path:
    """A trained copy of examples/image-classifier (its own train.py, seeded), with the held-out digit.png."""
    sources = [IMAGE_EXAMPLE / name for name in ("handler.py", "train.py", "model.json", "labels.txt")]
    done = IMAGE_DIR / "model.pt"
    if not done.exists() or done.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        shutil.rmtree(IMAGE_DIR, ignore_errors=True)
        shutil.copytree(IMAGE_EXAMPLE, IMAGE_DIR, ignore=shutil.ignore_patterns("model.pt", "__pycache__"))
        subprocess.run([sys.executable, str(IMAGE_DIR / "train.py"), "--out", str(IMAGE_DIR)], check=True)
    return IMAGE_DIR


def load(names: list[str]) -> dict[str, BenchModel]:
    folder = BENCH_DIR / "payloads"
    found: dict[str, BenchModel] = {}
    if "digits" in names:
        found["digits"] = BenchModel(
            name="digits",
            path=_digits_model(),
            # TorchServe's configuration as first compared: up to 32 rows, 5 ms; Liftoff's own come from its sweep.
            max_batch=32,
            wait_ms=5.0,
            payloads={
                "json": Payload(
                    "/v2/models/digits/infer", bodies.write(folder, "digits.json", bodies.digits_json())
                )
            },
            # liftoff-grpc: the same row over gRPC, as tritonclient.grpc sends it.
            servers=("liftoff", "liftoff-handler", "liftoff-grpc", *COMPETITORS, "liftoff-torchserve"),
            # HTTP-bound: one process per core, each with one torch thread and its own batcher (a CPU stack
            # deploys it with liftoff:workers).
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
            # Compute-bound, yet two one-thread processes beat one two-thread process, and FP32 batches of 8
            # beat 4 and 16 (each swept with --liftoff-env).
            liftoff_env={"LIFTOFF_WORKERS": "2"},
        )
    if IMAGE_NAME in names:
        directory = _image_model()
        png = (directory / "digit.png").read_bytes()
        upload = bodies.multipart_file("image", "digit.png", "image/png", png)
        found[IMAGE_NAME] = BenchModel(
            name=IMAGE_NAME,
            path=directory,
            max_batch=64,
            wait_ms=2.0,
            payloads={
                # The same PNG for every server, as a form upload (`curl -F image=@digit.png`): the one way
                # LitServe, BentoML and Liftoff all take a file.
                "upload": Payload(
                    "/predict",
                    bodies.write(folder, "digit-upload.bin", upload),
                    content_type=f"multipart/form-data; boundary={bodies.MULTIPART_BOUNDARY}",
                ),
                "png": Payload("/predict", bodies.write(folder, "digit.png", png), content_type="image/png"),
            },
            common="upload",
            servers=("liftoff", "liftoff-png", "litserve", "bentoml"),
            liftoff_env={"LIFTOFF_WORKERS": "2"},
        )
    return found


WHERE_IT_RUNS = frozenset({"LIFTOFF_HOST", "LIFTOFF_PORT", "LIFTOFF_GRPC_PORT", "LIFTOFF_MODEL_PATH"})
"""Where the bench runs a server (its address, ports, a model path on this machine), not how it serves: a
stack sets these from `liftoff:model` and the pod's ports."""


def stack_settings(env: dict[str, str]) -> list[str]:
    """The stack settings that deploy the server a Liftoff row measured (`liftoff:workers=2`, ...). A variable
    no stack can set is refused: what is benchmarked must be deployable."""
    keys = stack_keys()
    found = []
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name in WHERE_IT_RUNS:
            continue
        field = name.removeprefix(ENV_PREFIX).lower()
        if field not in keys:
            raise ValueError(f"{name} is not a stack setting, so no deployment could run this row")
        number = value.replace(".", "", 1).isdigit()
        if number and float(value) != int(float(value)):
            raise ValueError(f"{name}={value}: a stack takes whole numbers")
        found.append(f"liftoff:{keys[field]}={int(float(value)) if number else value}")
    return sorted(found)
