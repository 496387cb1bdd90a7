"""How each server in the benchmark is started, where it listens, and how it is stopped.

Every server listens on 127.0.0.1 only, runs in its own process group (so its workers and TorchServe's
Java frontend stop with it), and counts as ready when it answers the benchmark's own request.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.envs import Env
from bench.loadgen import Payload

REPO = Path(__file__).resolve().parents[1]
COMPETITORS = REPO / "bench" / "competitors"
# Thread settings that helped the competitors most in issue 10's measurements: idle OpenMP threads sleep
# instead of spinning on the two cores the HTTP side needs too.
PASSIVE = {"OMP_WAIT_POLICY": "PASSIVE"}


@dataclass(frozen=True)
class BenchModel:
    """A model as the benchmark serves it: files, the batching every batching server uses, the payloads."""

    name: str
    path: Path
    max_batch: int
    wait_ms: float
    payloads: dict[str, Payload]
    """"json" is what every server gets (the same bytes; only the URL path differs per server);
    "binary" is the Open Inference Protocol binary tensor extension, which only Liftoff speaks."""
    servers: tuple[str, ...]
    """Which rows of SERVERS this model is measured with."""
    liftoff_env: dict[str, str] = field(default_factory=dict)
    """Liftoff's tuned settings for this model (from the sweep, see docs/benchmarks.md)."""


@dataclass(frozen=True)
class Launch:
    command: list[str]
    env: dict[str, str]
    path: str
    """Where this server takes the benchmark's request for the model."""
    payload: str = "json"
    """Which of the model's payloads it is driven with."""
    cwd: Path = REPO


@dataclass(frozen=True)
class ServerKind:
    key: str
    label: str
    launch: Callable[[BenchModel, int, Path], Launch]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _liftoff(payload: str = "json", **settings: str) -> Callable[[BenchModel, int, Path], Launch]:
    def launch(model: BenchModel, port: int, _: Path) -> Launch:
        env = {
            "LIFTOFF_HOST": "127.0.0.1",
            "LIFTOFF_PORT": str(port),
            "LIFTOFF_MODEL_PATH": str(model.path),
            "LIFTOFF_LOG_LEVEL": "warning",
            "LIFTOFF_MAX_BATCH_SIZE": str(model.max_batch),
            "LIFTOFF_MAX_BATCH_WAIT_MS": str(model.wait_ms),
            **model.liftoff_env,
            **settings,
        }
        return Launch(
            [str(Env.project().python), "-m", "service"], env, model.payloads[payload].path, payload
        )

    return launch


def _fastapi(workers: int) -> Callable[[BenchModel, int, Path], Launch]:
    def launch(model: BenchModel, port: int, _: Path) -> Launch:
        env = {
            "BENCH_MODEL_PATH": str(model.path),
            "BENCH_MODEL_NAME": model.name,
            "BENCH_TORCH_THREADS": "1",
        }
        command = [
            str(Env.project().python),
            "-m",
            "uvicorn",
            "bench.baseline_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        return Launch(command, env, model.payloads["json"].path)

    return launch


def _litserve(model: BenchModel, port: int, _: Path) -> Launch:
    command = [
        str(Env.litserve().python),
        str(COMPETITORS / "litserve_app.py"),
        "--model",
        str(model.path),
        "--name",
        model.name,
        "--port",
        str(port),
        "--max-batch",
        str(model.max_batch),
        "--wait-ms",
        str(max(model.wait_ms, 5.0)),
    ]
    return Launch(command, dict(PASSIVE), "/predict")  # LitServe serves one route; the body is the same


def _torchserve(model: BenchModel, port: int, workdir: Path) -> Launch:
    env_dir = Env.torchserve()
    store = workdir / "torchserve-store"
    store.mkdir(parents=True, exist_ok=True)
    mar = store / f"{model.name}.mar"
    if not mar.exists():
        subprocess.run(
            [
                str(env_dir.bin / "torch-model-archiver"),
                "--model-name",
                model.name,
                "--version",
                "1.0",
                "--serialized-file",
                str(model.path),
                "--handler",
                str(COMPETITORS / "torchserve_handler.py"),
                "--extra-files",
                str(COMPETITORS / "codec.py"),
                "--export-path",
                str(store),
                "--force",
            ],
            check=True,
        )
    registration = {
        model.name: {
            "1.0": {
                "defaultVersion": True,
                "marName": mar.name,
                "minWorkers": 1,
                "maxWorkers": 1,
                "batchSize": model.max_batch,
                "maxBatchDelay": max(round(model.wait_ms), 5),
                "responseTimeout": 120,
            }
        }
    }
    config = workdir / f"torchserve-{port}.properties"
    config.write_text(
        "\n".join(
            [
                f"inference_address=http://127.0.0.1:{port}",
                f"management_address=http://127.0.0.1:{free_port()}",
                f"metrics_address=http://127.0.0.1:{free_port()}",
                f"model_store={store}",
                f"load_models={mar.name}",
                f"models={json.dumps(registration)}",
                "default_workers_per_model=1",
                # Room for every connection's request plus those a finished point left behind (the default
                # of 100 answered 503 to the ResNet at c=64).
                "job_queue_size=1000",
                "disable_token_authorization=true",
                "install_py_dep_per_model=false",
                "disable_system_metrics=true",
                f"max_request_size={16 * 2**20}",
                f"max_response_size={16 * 2**20}",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    command = [
        str(env_dir.bin / "torchserve"),
        "--start",
        "--foreground",
        "--ncs",
        "--disable-token-auth",
        "--model-store",
        str(store),
        "--ts-config",
        str(config),
    ]
    env = {**PASSIVE, "LOG_LOCATION": str(workdir / "torchserve-logs"), "METRICS_LOCATION": str(workdir)}
    return Launch(command, env, f"/predictions/{model.name}", cwd=workdir)


SERVERS: dict[str, ServerKind] = {
    kind.key: kind
    for kind in (
        ServerKind("liftoff", "Liftoff", _liftoff()),
        ServerKind("liftoff-binary", "Liftoff, binary tensors", _liftoff("binary")),
        ServerKind(
            "liftoff-bf16",
            "Liftoff, binary tensors, bfloat16",
            _liftoff("binary", LIFTOFF_DTYPE="bfloat16", LIFTOFF_MAX_BATCH_SIZE="64"),
        ),
        ServerKind(
            "liftoff-bf16-json",
            "Liftoff, base64 JSON, bfloat16",
            _liftoff("json", LIFTOFF_DTYPE="bfloat16", LIFTOFF_MAX_BATCH_SIZE="64"),
        ),
        ServerKind("fastapi-1", "FastAPI, 1 worker (baseline)", _fastapi(1)),
        ServerKind("fastapi-2", "FastAPI, 2 workers", _fastapi(2)),
        ServerKind("litserve", "LitServe, batching", _litserve),
        ServerKind("torchserve", "TorchServe, batching", _torchserve),
    )
}
BASELINE = "fastapi-1"


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    base_url: str
    path: str
    payload: Payload
    start_s: float
    log_path: Path


def _answers(url: str, payload: Payload) -> bool:
    headers = {"Content-Type": payload.content_type, **dict(payload.headers)}
    request = urllib.request.Request(  # noqa: S310 (the harness builds only http://127.0.0.1 URLs)
        url, data=payload.body_file.read_bytes(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def serve(
    kind: ServerKind, model: BenchModel, workdir: Path, ready_timeout_s: float = 180.0
) -> Iterator[Running]:
    """Start a server, wait until it answers its payload, yield it, then stop its whole process group."""
    port = free_port()
    launch = kind.launch(model, port, workdir)
    payload = model.payloads[launch.payload]
    env = {**os.environ, **launch.env}
    log_path = workdir / f"{kind.key}-{model.name}.log"
    started = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            launch.command,
            env=env,
            cwd=launch.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        while not _answers(base_url + launch.path, payload):
            if process.poll() is not None:
                raise RuntimeError(f"{kind.label} exited with {process.returncode}; see {log_path}")
            if time.perf_counter() - started > ready_timeout_s:
                raise RuntimeError(f"{kind.label} not ready after {ready_timeout_s:.0f} s; see {log_path}")
            time.sleep(0.05)
        yield Running(process, base_url, launch.path, payload, time.perf_counter() - started, log_path)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace_s)
    # Whatever is left in the group (TorchServe's backend workers, uvicorn children) goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
