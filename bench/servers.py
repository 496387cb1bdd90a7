"""How each server in the benchmark is started, where it listens, and how it is stopped.

Every server listens on 127.0.0.1 only, runs in its own process group (so its workers and TorchServe's
Java frontend stop with it), and counts as ready when it answers the benchmark's own request.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.envs import Env
from bench.loadgen import Payload
from lab.ports import free_port

REPO = Path(__file__).resolve().parents[1]
COMPETITORS = REPO / "bench" / "competitors"
# Thread settings that helped the competitors most when they were measured: idle OpenMP threads sleep
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
    "binary" is the Open Inference Protocol binary tensor extension, which only Liftoff speaks;
    "png" is a PNG file as the raw body (content type image/png), for a model whose handler decodes it."""
    servers: tuple[str, ...]
    """Which rows of SERVERS this model is measured with."""
    liftoff_env: dict[str, str] = field(default_factory=dict)
    """Liftoff's tuned settings for this model (from the sweep, see docs/benchmarks.md)."""
    common: str = "json"
    """The payload every server is driven with unless its launch names another."""


@dataclass(frozen=True)
class Launch:
    command: list[str]
    env: dict[str, str]
    path: str
    """Where this server takes the benchmark's request for the model."""
    payload: str | None = None
    """Which of the model's payloads it is driven with; None: the model's common one."""
    cwd: Path = REPO
    grpc_port: int | None = None
    """Liftoff's gRPC listener, for the row driven over gRPC (bench/grpc_load.py) instead of by wrk."""


@dataclass(frozen=True)
class ServerKind:
    key: str
    label: str
    launch: Callable[[BenchModel, int, Path], Launch]


def _liftoff(
    payload: str | None = None, pass_through: bool = False, grpc: bool = False, **settings: str
) -> Callable[[BenchModel, int, Path], Launch]:
    def launch(model: BenchModel, port: int, workdir: Path) -> Launch:
        path = _with_pass_through_handler(model, workdir) if pass_through else model.path
        grpc_port = free_port() if grpc else None
        env = {
            "LIFTOFF_HOST": "127.0.0.1",
            "LIFTOFF_PORT": str(port),
            "LIFTOFF_MODEL_PATH": str(path),
            "LIFTOFF_LOG_LEVEL": "warning",
            "LIFTOFF_MAX_BATCH_SIZE": str(model.max_batch),
            "LIFTOFF_MAX_BATCH_WAIT_MS": str(model.wait_ms),
            **model.liftoff_env,
            **settings,
            "LIFTOFF_GRPC_PORT": str(grpc_port or 0),  # off unless this row measures it
        }
        chosen = payload or model.common
        return Launch(
            [str(Env.project().python), "-m", "service"],
            env,
            model.payloads[chosen].path,
            chosen,
            grpc_port=grpc_port,
        )

    return launch


HANDLER_THAT_PASSES_THROUGH = '''"""The bench's pass-through handler: every method a default, so it measures what a handler costs."""

from service.handler import Handler


class PassThrough(Handler):
    pass
'''


def _with_pass_through_handler(model: BenchModel, workdir: Path) -> Path:
    """A model directory holding the model file, its metadata and a handler that only passes through."""
    directory = workdir / f"{model.name}-pass-through"
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model.path, directory / model.path.name)
    shutil.copyfile(model.path.with_suffix(".json"), directory / "model.json")
    (directory / "handler.py").write_text(HANDLER_THAT_PASSES_THROUGH, encoding="utf-8")
    return directory


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
        return Launch(command, env, model.payloads[model.common].path)

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


def _bentoml(model: BenchModel, port: int, _: Path) -> Launch:
    command = [
        str(Env.bentoml().bin / "bentoml"),
        "serve",
        "bentoml_app:ImageClassifier",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    env = {**PASSIVE, "BENCH_MODEL_DIR": str(model.path), "BENCH_MAX_BATCH": str(model.max_batch)}
    return Launch(command, env, "/classify", cwd=COMPETITORS)


def _torchserve_archive(model: BenchModel, workdir: Path) -> Path:
    """The model as TorchServe serves it: a .mar of its file, the benchmark's handler and codec."""
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
    return mar


def _torchserve_batching(model: BenchModel) -> tuple[int, int]:
    """TorchServe's batchSize and maxBatchDelay (ms) for the model; the imported archive's row takes the same."""
    return model.max_batch, max(round(model.wait_ms), 5)


def _liftoff_torchserve(model: BenchModel, port: int, workdir: Path) -> Launch:
    """TorchServe's own archive of the model, imported (python -m service import-torchserve) and served by
    Liftoff with TorchServe's batching, on TorchServe's route."""
    from service.torchserve.archive import imported_copy

    imported = imported_copy(_torchserve_archive(model, workdir), workdir / "imported")
    batch, delay_ms = _torchserve_batching(model)
    env = {
        "LIFTOFF_HOST": "127.0.0.1",
        "LIFTOFF_PORT": str(port),
        "LIFTOFF_MODEL_PATH": str(imported),
        "LIFTOFF_LOG_LEVEL": "warning",
        "LIFTOFF_MAX_BATCH_SIZE": str(batch),
        "LIFTOFF_MAX_BATCH_WAIT_MS": str(delay_ms),
        "LIFTOFF_GRPC_PORT": "0",
    }
    return Launch([str(Env.project().python), "-m", "service"], env, f"/predictions/{model.name}")


def torchserve_start(
    torchserve: Path,
    config: Path,
    port: int,
    store: Path,
    models: Mapping[str, Mapping[str, object]],
    version: str,
    *settings: str,
) -> list[str]:
    """Write `config`, TorchServe's properties: inference on 127.0.0.1:`port` (management and metrics on free
    ports), each of `models` (`<name>.mar` in `store`, one worker, `version` its default, with its own
    registration fields) loaded, and `settings` besides; return the command that starts `torchserve` with it."""
    registration = {
        name: {
            version: {
                "defaultVersion": True,
                "marName": f"{name}.mar",
                "minWorkers": 1,
                "maxWorkers": 1,
                **fields,
            }
        }
        for name, fields in models.items()
    }
    config.write_text(
        "\n".join(
            [
                f"inference_address=http://127.0.0.1:{port}",
                f"management_address=http://127.0.0.1:{free_port()}",
                f"metrics_address=http://127.0.0.1:{free_port()}",
                f"model_store={store}",
                f"load_models={','.join(f'{name}.mar' for name in models)}",
                f"models={json.dumps(registration)}",
                *settings,
                "disable_token_authorization=true",
                "install_py_dep_per_model=false",
                "disable_system_metrics=true",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return [
        str(torchserve),
        "--start",
        "--foreground",
        "--ncs",
        "--disable-token-auth",
        "--model-store",
        str(store),
        "--ts-config",
        str(config),
    ]


def _torchserve(model: BenchModel, port: int, workdir: Path) -> Launch:
    env_dir = Env.torchserve()
    store = _torchserve_archive(model, workdir).parent
    batch, delay_ms = _torchserve_batching(model)
    command = torchserve_start(
        env_dir.bin / "torchserve",
        workdir / f"torchserve-{port}.properties",
        port,
        store,
        {model.name: {"batchSize": batch, "maxBatchDelay": delay_ms, "responseTimeout": 120}},
        "1.0",
        "default_workers_per_model=1",
        # Room for every connection's request plus those a finished point left behind (the default
        # of 100 answered 503 to the ResNet at c=64).
        "job_queue_size=1000",
        f"max_request_size={16 * 2**20}",
        f"max_response_size={16 * 2**20}",
    )
    env = {**PASSIVE, "LOG_LOCATION": str(workdir / "torchserve-logs"), "METRICS_LOCATION": str(workdir)}
    return Launch(command, env, f"/predictions/{model.name}", cwd=workdir)


# bfloat16 ResNet, as Liftoff optimises it, on 2 processes x 1 thread side by side: larger batches only lose
# (bench.fair_ceiling's table in docs/benchmarks.md).
BF16_MAX_BATCH = "8"

SERVERS: dict[str, ServerKind] = {
    kind.key: kind
    for kind in (
        ServerKind("liftoff", "Liftoff", _liftoff()),
        ServerKind("liftoff-binary", "Liftoff, binary tensors", _liftoff("binary")),
        ServerKind("liftoff-grpc", "Liftoff, gRPC (raw contents)", _liftoff(grpc=True)),
        ServerKind(
            "liftoff-bf16",
            "Liftoff, binary tensors, bfloat16",
            _liftoff("binary", LIFTOFF_DTYPE="bfloat16", LIFTOFF_MAX_BATCH_SIZE=BF16_MAX_BATCH),
        ),
        ServerKind("liftoff-handler", "Liftoff, pass-through handler", _liftoff(pass_through=True)),
        ServerKind("liftoff-png", "Liftoff, raw PNG body", _liftoff("png")),
        ServerKind(
            "liftoff-bf16-json",
            "Liftoff, base64 JSON, bfloat16",
            _liftoff("json", LIFTOFF_DTYPE="bfloat16", LIFTOFF_MAX_BATCH_SIZE=BF16_MAX_BATCH),
        ),
        ServerKind("fastapi-1", "FastAPI, 1 worker (baseline)", _fastapi(1)),
        ServerKind("fastapi-2", "FastAPI, 2 workers", _fastapi(2)),
        ServerKind("litserve", "LitServe, batching", _litserve),
        ServerKind("torchserve", "TorchServe, batching", _torchserve),
        ServerKind("liftoff-torchserve", "Liftoff, TorchServe's archive imported", _liftoff_torchserve),
        ServerKind("bentoml", "BentoML, batching", _bentoml),
    )
}
BASELINE = "fastapi-1"
# Left out on a CPU that emulates bfloat16 (service/model/cpu_precision.py): there they would take hours
# and measure the emulation, not the server.
BF16_SERVERS = frozenset({"liftoff-bf16", "liftoff-bf16-json"})


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    base_url: str
    path: str
    payload: Payload
    start_s: float
    log_path: Path
    grpc_port: int | None = None


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
    payload = model.payloads[launch.payload or model.common]
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
        ready_s = time.perf_counter() - started
        yield Running(process, base_url, launch.path, payload, ready_s, log_path, launch.grpc_port)
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
