"""`create_app(settings)`: the FastAPI app. The model loads in the lifespan, in the background.

Loading in the background lets liveness answer while a large model loads and runs its check (the warm-up,
service/model/check.py); readiness turns true only once the check passed. A model that fails it never
becomes ready: the server process (`exit_on_load_failure`) then ends with a one-line reason on stderr and
in the container's termination message (service/model/failure.py), so Kubernetes shows the pod crashing
and why; an app driven in-process keeps running, unready, for tests to look at.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

import torch
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware import Middleware

from service.api import oip
from service.api.errors import install_error_handlers
from service.api.routes import ROUTES
from service.api.schemas import REQUEST_MODELS
from service.auth import AuthMiddleware, KeyStore, parse_keys
from service.batching import Batcher, BatchLimits
from service.content_encoding import ContentEncodingMiddleware
from service.fastpath import LiftoffApp
from service.middleware import BodyLimitMiddleware, RequestMetricsMiddleware
from service.model.failure import exit_unservable
from service.model.served import ServedModel
from service.model.startup import prepare_model
from service.settings import Settings
from service.state import ServerState

log = logging.getLogger(__name__)

ModelLoader = Callable[[Settings], ServedModel]


def create_app(
    settings: Settings,
    load: ModelLoader = prepare_model,
    drain_on_sigterm: bool = False,
    serve_grpc: bool = False,
    exit_on_load_failure: bool = False,
) -> FastAPI:
    """`drain_on_sigterm`: fail readiness the moment SIGTERM arrives (the server process sets it; tests
    driving the app in-process leave their own signal handling alone). `serve_grpc`: open the gRPC listener
    on LIFTOFF_GRPC_PORT for the app's lifetime (the server process sets it; tests bind their own)."""
    state = ServerState(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        if drain_on_sigterm:
            _drain_on_sigterm(state)
        loading = asyncio.create_task(
            _load_and_start(state, load, exit_on_load_failure), name="liftoff-model-load"
        )
        grpc_server = await _start_grpc(state) if serve_grpc and settings.grpc_port else None
        try:
            yield
        finally:
            if grpc_server is not None:  # accepted calls finish within the drain timeout, as HTTP's do
                await grpc_server.stop(grace=settings.drain_timeout_s)
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loading
            if state.batcher is not None:
                await state.batcher.stop()
            if state.decode_pool is not None:
                state.decode_pool.shutdown(wait=False, cancel_futures=True)

    app = LiftoffApp(
        ROUTES,
        _middleware(settings, state),
        title="Liftoff inference server",
        version=oip.SERVER_VERSION,
        lifespan=lifespan,
        # FastAPI's Swagger UI and ReDoc come from a public CDN; /docs is service/api/docs.py instead.
        docs_url=None,
        redoc_url=None,
        description="Open Inference Protocol v2 and a plain JSON /predict for one TorchScript model.",
        # Prometheus covers what FastAPI's OpenTelemetry hooks would; looking for a configured tracer on
        # every request cost a noticeable share of a small model's request CPU (docs/benchmarks.md).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.liftoff = state
    install_error_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _middleware(settings: Settings, state: ServerState) -> list[Middleware]:
    """Outermost first; FastAPI's stack and the fast path's are both built from this one list."""
    return [
        Middleware(RequestMetricsMiddleware, replica_id=settings.replica_id, metrics=state.metrics),
        Middleware(AuthMiddleware, keys=api_keys(settings)),
        Middleware(BodyLimitMiddleware, max_body_bytes=lambda: state.max_body_bytes),
        Middleware(ContentEncodingMiddleware, max_body_bytes=lambda: state.max_body_bytes),
    ]


async def _start_grpc(state: ServerState) -> Any:
    """Each worker binds the same port: grpc sets SO_REUSEPORT, so the kernel spreads connections.

    grpcio is a runtime dependency and the image ships compiled stubs; an install without them (no
    grpcio-tools to compile the stubs on first use) serves HTTP on, and the log says why gRPC does not."""
    try:
        from service.grpc.listener import Listener  # here: compiling the stubs is not free
    except (ImportError, OSError) as exc:
        log.error("gRPC is off: its stubs cannot be loaded (%s); HTTP serves on", exc)
        return None
    settings = state.settings
    listener = Listener(state, api_keys(settings), settings.host, settings.grpc_port)
    await listener.start()
    log.info("gRPC (Open Inference Protocol v2) on %s:%d", settings.host, settings.grpc_port)
    return listener


def api_keys(settings: Settings) -> KeyStore:
    """The key store the HTTP routes (and the gRPC server) check, from the settings."""
    return KeyStore(parse_keys(settings.api_keys.get_secret_value()), settings.api_keys_file)


def _drain_on_sigterm(state: ServerState) -> None:
    """Put readiness down first, then hand the signal to the server's own handler (uvicorn's, which stops
    accepting connections and waits for accepted requests). uvicorn installs its handler before the
    lifespan starts and restores the original one when it stops, so chaining here is safe."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        state.begin_drain()
        log.info("SIGTERM: readiness is down, finishing accepted requests")
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)


async def _load_and_start(state: ServerState, load: ModelLoader, exit_on_failure: bool) -> None:
    settings = state.settings
    try:
        model = await asyncio.to_thread(load, settings)
    except Exception as exc:
        state.load_error = str(exc) or type(exc).__name__
        log.debug("the model's load failed", exc_info=exc)
        if exit_on_failure:
            exit_unservable(state.load_error, settings.termination_message_path)
        log.error("the model cannot be served: %s", state.load_error)
        return
    limits = BatchLimits(
        settings.max_batch_size, settings.max_batch_wait_s, settings.queue_limit, settings.request_timeout_s
    )
    batcher = Batcher(model.forward, limits, state.metrics)
    batcher.start()
    if model.decodes or model.encodes:
        state.decode_pool = ThreadPoolExecutor(settings.decode_threads, thread_name_prefix="liftoff-decode")
    limit = state.body_limit_for(model)
    for prepare in state.before_ready:
        await prepare(limit)
    state.model, state.batcher = model, batcher
    # Everything alive now (torch, the app, the model) lives as long as the process: moved out of the
    # collector's sight, a full collection no longer walks it, which is what held up the p99 under load
    # (docs/benchmarks.md).
    gc.collect()
    gc.freeze()


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the request bodies the handlers parse themselves (with orjson, for speed)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in REQUEST_MODELS:
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        app.openapi_schema = schema
    return app.openapi_schema
