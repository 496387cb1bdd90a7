"""`python -m bench.weights_fetch` (`make bench-weights`): weights from object storage against their ceiling.

On a local SeaweedFS (the S3 gateway the tests use), a model of about 1 GB in several safetensors shards:

- the ceiling: the same objects read by curl (SigV4-signed), one process per shard in parallel, written to
  disk, as a plain client would;
- Liftoff's fetch (service/weights/): parallel ranged reads, written, fsynced and sha256-verified;
- process start to ready (`python -m service` until /readyz answers 200) with the weights on local disk,
  fetched cold into an empty LIFTOFF_WEIGHTS_DIR, and fetched again with complete files already there.

Goals (figures, not assertions): fetch >= 80% of the ceiling; cold ready <= 1.5 x (local-disk ready + the
transfer time at the ceiling's rate). The page cache is warm for every row (the files were just written),
as it would not be on a new node; the store runs on the same machine, so it competes for the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the store harness lives with the tests that use it

from service.weights.fetch import FetchOptions, fetch_weights  # noqa: E402
from service.weights.manifest import build_manifest, sha256_file  # noqa: E402
from service.weights.source import parse_uri  # noqa: E402
from tests.service.weights.object_stores import SeaweedS3, free_port  # noqa: E402

HANDLER = """
import torch
from torch import nn

from service.handler import Handler, HandlerContext
from service.weights import load_into

WIDTH = {width}
LAYERS = {layers}


class Stack(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(WIDTH, WIDTH, bias=False) for _ in range(LAYERS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return x[:, :4]


class StackHandler(Handler):
    def setup(self, context: HandlerContext) -> None:
        super().setup(context)
        self.net = load_into(Stack(), context.weights_dir, context.device).eval()

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.net(x)
"""


def write_model(folder: Path, width: int, layers: int) -> Path:
    """A model directory with `layers` float32 width x width matrices, one safetensors shard each."""
    import torch
    from safetensors.torch import save_file

    root = folder / "stack"
    weights = root / "weights"
    weights.mkdir(parents=True)
    generator = torch.Generator().manual_seed(0)
    for index in range(layers):
        tensor = torch.randn(width, width, generator=generator) / width**0.5
        save_file(
            {f"layers.{index}.weight": tensor}, weights / f"model-{index + 1:05d}-of-{layers:05d}.safetensors"
        )
    (root / "handler.py").write_text(HANDLER.format(width=width, layers=layers))
    metadata = {
        "name": "stack",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, width]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 4]}],
        "weights": "weights/",
    }
    (root / "model.json").write_text(json.dumps(metadata))
    return root


CURL = ["curl", "-sS", "--fail", "--aws-sigv4", "aws:amz:us-east-1:s3"]


def curl_ceiling(s3: SeaweedS3, uri_prefix: str, keys: list[str], out: Path) -> float:
    """Seconds for curl to read every object, one process per object in parallel, each written to disk."""
    out.mkdir(parents=True, exist_ok=True)
    keys_pair = s3.reader
    started = time.monotonic()
    auth = f"{keys_pair.access_key}:{keys_pair.secret_key}"
    processes = [
        subprocess.Popen([*CURL, "-o", str(out / f"{i}.bin"), "--user", auth, s3.url(f"{uri_prefix}/{key}")])
        for i, key in enumerate(keys)
    ]
    codes = [p.wait() for p in processes]
    seconds = time.monotonic() - started
    assert codes == [0] * len(codes), f"curl failed: {codes}"
    return seconds


def start_to_ready(env: dict[str, str], log: Path) -> float:
    port = free_port()
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service"],
            cwd=REPO,
            env={
                **os.environ,
                "PYTHONPATH": str(REPO),
                "LIFTOFF_HOST": "127.0.0.1",
                "LIFTOFF_PORT": str(port),
                "LIFTOFF_GRPC_PORT": "0",
                "LIFTOFF_MAX_BATCH_SIZE": "1",
                "LIFTOFF_QUEUE_LIMIT": "8",
                **env,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited; see {log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--width", type=int, default=8192, help="matrix side; 8192 float32 is 256 MiB a shard"
    )
    parser.add_argument("--layers", type=int, default=4, help="shards (one matrix each)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of each measurement; the median is shown"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="liftoff-bench-weights-"))
    try:
        run(folder, args.width, args.layers, args.rounds)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(folder: Path, width: int, layers: int, rounds: int) -> None:
    model = write_model(folder, width, layers)
    manifest = build_manifest(model / "weights", content_addressed=True)
    total = manifest.total_bytes
    mib = total / 2**20
    hash_started = time.monotonic()
    for entry in manifest.files:
        sha256_file(model / "weights" / entry.path)
    hash_s = time.monotonic() - hash_started
    with SeaweedS3(folder) as s3:
        uri = s3.uri("bench")
        push = subprocess.run(
            [sys.executable, "-m", "service.weights", "push", str(model / "weights"), uri],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), **s3.env(s3.admin)},
            capture_output=True,
            text=True,
        )
        assert push.returncode == 0, push.stderr
        keys = [entry.key for entry in manifest.files]
        ceiling = [curl_ceiling(s3, "bench", keys, folder / f"curl-{r}") for r in range(rounds)]
        fetched = []
        with environment(s3.env(s3.reader)):
            for r in range(rounds):
                report = fetch_weights(parse_uri(uri), folder / f"fetch-{r}", FetchOptions())
                fetched.append(report.seconds)
                shutil.rmtree(folder / f"fetch-{r}")
        for r in range(rounds):
            shutil.rmtree(folder / f"curl-{r}")
        remote = folder / "stack-remote"
        shutil.copytree(model, remote, ignore=shutil.ignore_patterns("weights"))
        metadata = json.loads((remote / "model.json").read_text())
        (remote / "model.json").write_text(json.dumps({**metadata, "weights": uri}))
        local_ready, cold_ready, warm_ready = [], [], []
        log = folder / "servers.log"
        for r in range(rounds):
            local_ready.append(start_to_ready({"LIFTOFF_MODEL_PATH": str(model)}, log))
            cache = folder / f"cache-{r}"
            env = {**s3.env(s3.reader), "LIFTOFF_MODEL_PATH": str(remote), "LIFTOFF_WEIGHTS_DIR": str(cache)}
            cold_ready.append(start_to_ready(env, log))
            warm_ready.append(start_to_ready(env, log))
            shutil.rmtree(cache)
    ceiling_s = statistics.median(ceiling)
    fetch_s = statistics.median(fetched)
    local_s, cold_s, warm_s = (statistics.median(x) for x in (local_ready, cold_ready, warm_ready))
    goal_s = 1.5 * (local_s + ceiling_s)
    print(
        f"\nweights: {layers} safetensors shards, {mib:,.0f} MiB; SeaweedFS on 127.0.0.1; median of {rounds}"
    )
    print(f"cores: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f}\n")
    print("| what | seconds | MiB/s | against the goal |")
    print("| --- | ---: | ---: | --- |")
    print(f"| ceiling: curl, {layers} in parallel, to disk | {ceiling_s:.2f} | {mib / ceiling_s:,.0f} | |")
    print(
        f"| Liftoff fetch (ranged reads, fsync, sha256) | {fetch_s:.2f} | {mib / fetch_s:,.0f} | "
        f"{100 * ceiling_s / fetch_s:.0f}% of the ceiling (goal >= 80%) |"
    )
    print(
        f"| sha256 of the same files, one thread (inside the fetch) | {hash_s:.2f} | {mib / hash_s:,.0f} | |"
    )
    print(f"| start to ready, weights on local disk | {local_s:.2f} | | |")
    print(
        f"| start to ready, fetched cold | {cold_s:.2f} | | {cold_s / goal_s:.2f} x the goal "
        f"(1.5 x ({local_s:.2f} + {ceiling_s:.2f}) = {goal_s:.2f} s) |"
    )
    print(f"| start to ready, files already verified | {warm_s:.2f} | | |")


if __name__ == "__main__":
    main()
