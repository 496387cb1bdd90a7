"""`python -m service`: serve the configured model with uvicorn, settings from `LIFTOFF_*` variables.

A bad setting stops start-up with exit code 2 and a message naming the variable, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import socket
import sys
import tempfile
from pathlib import Path
from typing import cast

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from service import allocator, metrics_port, openmp  # noqa: F401  (openmp before torch loads)
from service.app import create_app
from service.connections import ConnectionGuard, ConnectionLimits, default_max_connections
from service.drain import DrainingServer
from service.metrics import forget_worker, share_across_workers, workers_registry
from service.model.directory import open_model
from service.model.handler_import import import_handler
from service.model.metadata import MetadataError
from service.model.served import ModelLoadError, pick_device
from service.model.starter import write_starter
from service.settings import Settings, env_name
from service.workers import listening_socket, run_workers, threads_per_worker

USAGE_ERROR = 2
log = logging.getLogger("service")


def read_settings() -> Settings:
    """Settings from the environment, or a SystemExit(2) whose message names each bad variable."""
    try:
        settings = Settings()
        if settings.model_path is not None:
            directory = open_model(settings.model_path)
            if directory.handler_file is not None:  # a broken handler stops start-up here, by file and line
                import_handler(directory.handler_file, needs_setup_and_predict=directory.model_file is None)
        device = pick_device(settings.device)
        if settings.workers > 1 and device.type == "cuda":
            raise SystemExit(
                f"invalid settings:\n  LIFTOFF_WORKERS={settings.workers}: several workers on one GPU would "
                "each load their own copy of the model; run one process per GPU (LIFTOFF_WORKERS=1)"
            )
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            if err["loc"]:
                lines.append(f"  {env_name(str(err['loc'][0]))}={err.get('input')!r}: {err['msg']}")
            else:  # a rule across settings; its message names them
                lines.append("  " + err["msg"].removeprefix("Value error, "))
        raise SystemExit("invalid settings:\n" + "\n".join(lines)) from None
    except (MetadataError, ModelLoadError) as exc:
        raise SystemExit(f"cannot serve the configured model: {exc}") from None
    return settings


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )


def graceful_timeout_s(settings: Settings) -> float:
    """How long uvicorn waits for accepted requests: the drain timeout less a margin for what follows
    (cancelling the rest, the lifespan shutdown, exiting), which a busy machine can stretch to a second."""
    return max(settings.drain_timeout_s - 2.0, settings.drain_timeout_s / 2)


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    """One server process (each forked worker builds its own, with its own app and model)."""
    app = create_app(settings, drain_on_sigterm=True, serve_grpc=True)
    limits = ConnectionLimits(
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        max_header_bytes=settings.max_header_bytes,
        max_connections=settings.max_connections or default_max_connections(),
    )
    guard = ConnectionGuard(limits, app.state.liftoff.metrics)
    return uvicorn.Config(
        app,
        # httptools under the connection guard (service/connections.py); no WebSocket routes, so none.
        http=guard.protocol_class(),
        ws="none",
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,
        access_log=settings.log_level == "debug",
        server_header=False,
        lifespan="on",
        # (uvicorn types it int but uses it as asyncio.wait_for's float timeout.)
        timeout_graceful_shutdown=cast(int, graceful_timeout_s(settings)),
    )


def main() -> int:
    if sys.argv[1:2] == ["init-model"]:
        return init_model(sys.argv[2:])
    if sys.argv[1:2] == ["weights"]:  # manifest / push / pull for weights in object storage
        from service.weights.cli import run_and_exit

        run_and_exit(sys.argv[2:])
    try:
        settings = read_settings()
    except SystemExit as exc:
        print(exc.code, file=sys.stderr)
        return USAGE_ERROR
    configure_logging(settings.log_level)
    if not settings.api_keys.get_secret_value() and settings.api_keys_file is None:
        # Once, here, rather than in every forked worker.
        log.warning(
            "no API keys are configured (LIFTOFF_API_KEYS, LIFTOFF_API_KEYS_FILE): "
            "every route answers without authentication"
        )
    try:
        metrics_sock = (
            metrics_port.bind(settings.host, settings.metrics_port) if settings.metrics_port else None
        )
    except OSError as exc:
        print(
            f"cannot listen on LIFTOFF_METRICS_PORT={settings.metrics_port}: {exc.strerror}", file=sys.stderr
        )
        return USAGE_ERROR
    if settings.workers == 1:
        return serve(settings, metrics_sock=metrics_sock)
    # Forked workers (service/workers.py), each a single server with its share of the cores.
    one = settings.model_copy(
        update={"workers": 1, "torch_threads": threads_per_worker(settings.workers, settings.torch_threads)}
    )
    own = hasattr(socket, "SO_REUSEPORT")
    listening_socket(settings.host, settings.port, own).close()  # fail here, once, if the port is taken

    def bind() -> socket.socket:
        return listening_socket(settings.host, settings.port, own)

    # The workers' metrics meet in a private folder (service/metrics.py), removed when the server stops.
    with tempfile.TemporaryDirectory(prefix="liftoff-metrics-") as folder:
        shared = Path(folder)

        def serve_worker(sock: socket.socket, index: int) -> int:
            if metrics_sock is not None:  # the metrics process's, not this one's
                metrics_sock.close()
            share_across_workers(shared, index)
            return serve(one, sock)

        return run_workers(
            settings.workers,
            bind,
            serve_worker,
            sidecar=None
            if metrics_sock is None
            else functools.partial(metrics_port.serve_forever, metrics_sock, workers_registry(shared)),
            exited=lambda index: forget_worker(shared, index),
        )


def init_model(args: list[str]) -> int:
    """`python -m service init-model DIR`: a starter model directory (service/model/starter.py)."""
    if len(args) != 1:
        print("usage: python -m service init-model DIRECTORY", file=sys.stderr)
        return USAGE_ERROR
    try:
        written = write_starter(Path(args[0]))
    except (FileExistsError, OSError) as exc:
        print(exc, file=sys.stderr)
        return USAGE_ERROR
    print(
        "wrote " + ", ".join(str(path) for path in written) + "; serve it with LIFTOFF_MODEL_PATH=" + args[0]
    )
    return 0


def serve(
    settings: Settings, sock: socket.socket | None = None, metrics_sock: socket.socket | None = None
) -> int:
    """One server process; `metrics_sock`: serve the app's metrics there too, on a thread."""
    config = uvicorn_config(settings)
    server = DrainingServer(config)
    registry = cast(FastAPI, config.app).state.liftoff.metrics.registry
    with (
        metrics_port.serving_in_thread(metrics_sock, registry)
        if metrics_sock is not None
        else contextlib.nullcontext()
    ):
        server.run(sockets=[sock] if sock is not None else None)
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
