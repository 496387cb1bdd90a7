"""`python -m service`: serve the configured model with uvicorn, settings from `LIFTOFF_*` variables.

    python -m service                  serve LIFTOFF_MODEL_PATH (default: the bundled digits model)
    python -m service check DIR        load DIR as the server would and run its sample through it
    python -m service init-model DIR   write a starter model directory
    python -m service import-torchserve ARCHIVE DIR   a TorchServe archive as a model directory

A bad setting stops start-up with exit code 2 and a message naming the variable, never a traceback; a model
that fails its check ends the server with exit code 3 and the reason (service/model/failure.py).
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
from service.drain import DrainingServer, drain_deadline_s
from service.grpc.port import taken_by
from service.metrics import forget_worker, share_across_workers, workers_registry
from service.model.check import samples
from service.model.directory import open_model
from service.model.failure import MODEL_UNSERVABLE, one_line
from service.model.handler_import import import_handler
from service.model.metadata import MetadataError
from service.model.served import ModelLoadError, pick_device
from service.model.starter import write_starter
from service.model.startup import prepare_model
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


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    """One server process (each forked worker builds its own, with its own app and model)."""
    app = create_app(settings, drain_on_sigterm=True, serve_grpc=True, exit_on_load_failure=True)
    limits = ConnectionLimits(
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        max_header_bytes=settings.max_header_bytes,
        max_connections=settings.max_connections or default_max_connections(),
        max_header_count=settings.max_header_count,
        send_timeout_s=settings.send_timeout_s,
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
        timeout_graceful_shutdown=cast(int, drain_deadline_s(settings)),
    )


USAGE = """usage: python -m service [serve | check DIRECTORY | init-model DIRECTORY |
                          import-torchserve ARCHIVE DIRECTORY | --help]

  serve (the default)    serve the model LIFTOFF_MODEL_PATH names (default: the bundled digits model) over
                         HTTP and gRPC; every setting is a LIFTOFF_* variable (docs/server.md)
  check DIRECTORY        load the model directory exactly as the server does and run its sample through
                         decode, a batched predict and encode; exit 0 only if it would serve
  init-model DIRECTORY   write a starter model directory (model.json, handler.py, requirements.txt)
  import-torchserve ARCHIVE DIRECTORY
                         a TorchServe model archive (.mar) as a model directory (docs/from-torchserve.md)"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command, rest = (args[0], args[1:]) if args else ("serve", [])
    if command in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if command == "init-model":
        return init_model(rest)
    if command == "check":
        return check(rest)
    if command == "import-torchserve":
        from service.torchserve import cli  # the importer's YAML and archive code only when asked for

        return cli.main(rest)
    if command != "serve" or rest:
        print(f"unknown argument {' '.join(args)!r}\n{USAGE}", file=sys.stderr)
        return USAGE_ERROR
    return run_server()


CHECK_USAGE = """usage: python -m service check [--without-weights] DIRECTORY

Load the model directory exactly as the server does and run its sample through decode, a batched predict
and encode, checking every output against model.json; exit 0 only if it would serve, else 1 with the reason.
LIFTOFF_* variables apply as they do to the server (LIFTOFF_DEVICE, LIFTOFF_DTYPE, LIFTOFF_MAX_BATCH_SIZE).

  --without-weights   where model.json names `weights` kept out of the image, check all but the load
                      (model.json, handler.py's imports, the sample): the image build's last step"""


def check(args: list[str]) -> int:
    """`python -m service check DIR`: the server's own start-up and warm-up, without serving (exit 0), or
    the reason it would not serve (exit 1), naming the file, line or field."""
    if args in (["-h"], ["--help"]):
        print(CHECK_USAGE)
        return 0
    without_weights = "--without-weights" in args
    rest = [arg for arg in args if arg != "--without-weights"]
    if len(rest) != 1 or rest[0].startswith("-"):
        print(CHECK_USAGE, file=sys.stderr)
        return USAGE_ERROR
    try:
        settings = Settings(model_path=Path(rest[0]))
    except ValidationError as exc:
        print(f"check: invalid settings: {exc.errors()[0]['msg']}", file=sys.stderr)
        return USAGE_ERROR
    configure_logging("warning" if settings.log_level == "info" else settings.log_level)
    try:
        directory = open_model(Path(rest[0]))
        if without_weights and directory.metadata.weights is not None:
            if directory.handler_file is not None:
                import_handler(directory.handler_file, needs_setup_and_predict=directory.model_file is None)
            samples(directory.metadata, directory.root)
            print(
                f"check: {rest[0]}: model.json and its sample hold, and handler.py imports; its weights "
                f"({directory.metadata.weights}) are not here, so the server loads and checks it once fetched"
            )
            return 0
        model = prepare_model(settings)
    except (MetadataError, ModelLoadError, OSError) as exc:
        print(f"check: {rest[0]} would not serve: {one_line(str(exc))}", file=sys.stderr)
        return 1
    print(f"check: {rest[0]} serves: {model.checked}")
    return 0


def run_server() -> int:
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
    grpc_taken = taken_by(settings.host, settings.grpc_port) if settings.grpc_port else None
    if grpc_taken:
        print(
            f"cannot serve gRPC on LIFTOFF_GRPC_PORT={settings.grpc_port}: {grpc_taken}; give this server "
            "another port (LIFTOFF_GRPC_PORT), or 0 to serve no gRPC",
            file=sys.stderr,
        )
        return USAGE_ERROR
    log.info(
        "serving HTTP on %s:%d (LIFTOFF_PORT) and %s",
        settings.host,
        settings.port,
        f"gRPC on {settings.host}:{settings.grpc_port} (LIFTOFF_GRPC_PORT)"
        if settings.grpc_port
        else "no gRPC",
    )
    if settings.workers == 1:
        return serve(settings, metrics_sock=metrics_sock)
    # Forked workers (service/workers.py), each a single server with its share of the cores.
    one = settings.model_copy(
        update={"workers": 1, "torch_threads": threads_per_worker(settings.workers, settings.torch_threads)}
    )
    own = hasattr(socket, "SO_REUSEPORT")
    # Fail here, once, if the port is taken; probed without SO_REUSEPORT, which would join a foreign listener.
    try:
        listening_socket(settings.host, settings.port, False).close()
    except OSError as exc:
        print(f"cannot listen on LIFTOFF_PORT={settings.port}: {exc.strerror}", file=sys.stderr)
        return USAGE_ERROR

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
    if args in (["-h"], ["--help"]):
        print("usage: python -m service init-model DIRECTORY\n\nwrite a starter model directory to fill in")
        return 0
    if len(args) != 1 or args[0].startswith("-"):
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
    liftoff = cast(FastAPI, config.app).state.liftoff
    if liftoff.load_error is not None:
        return MODEL_UNSERVABLE
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
