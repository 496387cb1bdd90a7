"""The Triton extensions to the Open Inference Protocol that clients call: model configuration, statistics
and the repository index. What Liftoff does not implement answers 501 with a message, never a bare 404.

https://github.com/triton-inference-server/server/tree/main/docs/protocol (extension_model_configuration.md,
extension_statistics.md, extension_model_repository.md). Statistics come from the Prometheus registry the
server already keeps, so `/metrics` and `/v2/models/{name}/stats` never disagree.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from starlette.responses import Response

from service.api import oip
from service.api.common import json_response, parse_json, server_state
from service.api.errors import ApiError
from service.grpc import INFER_ROUTE
from service.model.metadata import ModelMetadata, TensorSpec
from service.state import ServerState

NS_PER_S = 1_000_000_000


class RepositoryIndexRequest(BaseModel):
    """Triton's index request: `{"ready": true}` lists only the models ready to serve."""

    ready: bool = False


def _triton_type(datatype: str) -> str:
    """Triton's config names a datatype `TYPE_FP32`; its BYTES is `TYPE_STRING`."""
    return "TYPE_STRING" if datatype == "BYTES" else f"TYPE_{datatype}"


def _config_tensor(spec: TensorSpec) -> dict[str, Any]:
    # With max_batch_size > 0, Triton's dims leave out the batch dimension, the first of model.json's shape.
    return {"name": spec.name, "data_type": _triton_type(spec.datatype), "dims": list(spec.shape[1:])}


async def model_config(request: Request, name: str, model_version: str | None = None) -> Response:
    state = server_state(request)
    meta = oip.check_name(state, name, model_version).metadata
    return json_response(config_document(state, meta))


def config_document(state: ServerState, meta: ModelMetadata) -> dict[str, Any]:
    """Triton's model configuration of the served model, for REST's `/config` and gRPC's ModelConfig."""
    settings = state.settings
    return {
        "name": meta.name,
        "platform": meta.platform,
        "max_batch_size": settings.max_batch_size,
        "input": [_config_tensor(spec) for spec in meta.inputs],
        "output": [_config_tensor(spec) for spec in meta.outputs],
        "dynamic_batching": {
            "max_queue_delay_microseconds": round(settings.max_batch_wait_ms * 1000),
        },
        "version_policy": {"specific": {"versions": [meta.version]}},
    }


def _inference_routes() -> frozenset[str]:
    """The route templates that run the model: the table's fast rows (imported here: routes imports us), and
    gRPC's ModelInfer (counted in the same series, service/grpc/metrics.py)."""
    from service.api.routes import ROUTES

    return frozenset(route.path for route in ROUTES if route.fast) | {INFER_ROUTE}


def _request_totals(registry: CollectorRegistry) -> dict[str, float]:
    """Answered inference requests (status < 400 and >= 400) and their summed latency, from /metrics."""
    routes = _inference_routes()
    totals = {"success": 0.0, "fail": 0.0, "seconds": 0.0}
    for family in registry.collect():
        for sample in family.samples:
            if sample.labels.get("route") not in routes:
                continue
            if sample.name == "liftoff_requests_total":
                totals["success" if int(sample.labels["status"]) < 400 else "fail"] += sample.value
            elif sample.name == "liftoff_request_duration_seconds_sum":
                totals["seconds"] += sample.value
    return totals


def _stat(count: float, seconds: float) -> dict[str, int]:
    return {"count": int(count), "ns": int(seconds * NS_PER_S)}


async def model_stats(request: Request, name: str, model_version: str | None = None) -> Response:
    state = server_state(request)
    meta = oip.check_name(state, name, model_version).metadata
    return json_response(stats_document(state, meta))


def stats_document(state: ServerState, meta: ModelMetadata) -> dict[str, Any]:
    """Triton's statistics for the one model: counts and cumulative times since the server started, for
    REST's `/stats` and gRPC's ModelStatistics.

    `success.ns` is the summed latency of every answered inference request, refused ones included (the
    latency histogram is per route, not per status); `compute_infer` is the forward passes' own time. Queue,
    input and output times are not measured apart: their counts and times are 0.
    """
    registry = state.metrics.registry

    def value(sample: str) -> float:
        return registry.get_sample_value(sample) or 0.0

    totals = _request_totals(registry)
    passes = value("liftoff_inference_duration_seconds_count")
    zero = _stat(0, 0)
    return {
        "model_stats": [
            {
                "name": meta.name,
                "version": meta.version,
                "last_inference": 0,
                "inference_count": int(value("liftoff_batch_size_sum")),
                "execution_count": int(passes),
                "inference_stats": {
                    "success": _stat(totals["success"], totals["seconds"]),
                    "fail": _stat(totals["fail"], 0),
                    "queue": zero,
                    "compute_input": zero,
                    "compute_infer": _stat(passes, value("liftoff_inference_duration_seconds_sum")),
                    "compute_output": zero,
                    "cache_hit": zero,
                    "cache_miss": zero,
                },
                "batch_stats": [],
            }
        ]
    }


async def repository_index(request: Request) -> Response:
    """`[{"name", "version", "state", "reason"}]`: the one model, READY, or UNAVAILABLE while it loads or
    drains; `{"ready": true}` in the body lists only ready models."""
    state = server_state(request)
    raw = await request.body()
    ready_only = parse_json(raw, RepositoryIndexRequest).ready if raw.strip() else False
    if state.model is None:
        return json_response([])
    meta = state.model.metadata
    if ready_only and not state.ready:
        return json_response([])
    entry = {
        "name": meta.name,
        "version": meta.version,
        "state": "READY" if state.ready else "UNAVAILABLE",
        "reason": "" if state.ready else state.not_ready_reason(),
    }
    return json_response([entry])


def not_implemented(what: str) -> Any:
    """A handler that answers 501 naming `what`, for a Triton route Liftoff knows but does not serve."""

    async def refuse(request: Request) -> Response:
        raise ApiError(
            501,
            f"Liftoff does not implement Triton's {what}: it serves one model, loaded at start "
            "(docs/protocols.md lists what it speaks)",
        )

    refuse.__name__ = f"not_implemented_{what.replace(' ', '_')}"
    return refuse
