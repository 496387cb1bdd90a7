"""Liveness, readiness and metrics: what Kubernetes probes and Prometheus scrapes."""

from __future__ import annotations

from fastapi import Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from service.api.common import RETRY_AFTER_S, json_response, server_state
from service.api.errors import ApiError

_LIVE = b'{"live":true}'


async def live() -> Response:
    """The process answers. Says nothing about the model: a loading model must not get the pod restarted."""
    return Response(_LIVE, media_type="application/json")


async def ready(request: Request) -> Response:
    """The model is loaded and warmed up, and the server is not draining after SIGTERM."""
    state = server_state(request)
    if state.ready:
        return json_response({"ready": True})
    response = json_response({"ready": False, "error": state.not_ready_reason()}, status=503)
    response.headers["Retry-After"] = RETRY_AFTER_S
    return response


async def metrics(request: Request) -> Response:
    """Prometheus text exposition format, for the scraper; not here when LIFTOFF_METRICS_PORT gives the
    metrics a port of their own (service/metrics_port.py)."""
    state = server_state(request)
    if state.settings.metrics_port:
        raise ApiError(404, "not found: the metrics are served on their own port (LIFTOFF_METRICS_PORT)")
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
