"""Scale to zero (liftoff:minReplicas 0) with the KEDA HTTP add-on: what the cluster renders for it.

A request's path becomes Traefik -> the interceptor's proxy (keda namespace) -> the inference Service. The
Ingress cannot name a Service in another namespace, so an ExternalName Service in the inference namespace
points at the proxy (the add-on's documented way in; Traefik is told to follow ExternalName Services). The
interceptor counts requests and holds them while the Deployment has no ready pod, up to
liftoff:coldStartTimeoutSeconds.

One owner of the replica count: without monitoring, the HTTPScaledObject's own ScaledObject (made by the
add-on); with monitoring, Liftoff's ScaledObject, which gains the add-on's request count as one more trigger
and the HTTPScaledObject is told not to make its own (`skip-scaledobject-creation`). Never an HPA besides.
"""

from __future__ import annotations

from typing import Any

from infra.settings import Settings

KEDA_NAMESPACE = "keda"
HTTP_RELEASE = "keda-add-ons-http"
"""The release and chart name: the chart names its Services `<chart>-<service>`."""
INTERCEPTOR_PROXY = f"{HTTP_RELEASE}-interceptor-proxy"
INTERCEPTOR_PROXY_PORT = 8080
"""interceptor.proxy.port, the chart's default."""
EXTERNAL_SCALER = f"{HTTP_RELEASE}-external-scaler.{KEDA_NAMESPACE}:9090"
"""The add-on's scaler (scaler.service, scaler.grpcPort), as its operator writes it into its ScaledObjects."""
INTERCEPTOR_SERVICE = "inference-interceptor"
"""The ExternalName Service in the inference namespace that the Ingress sends traffic to."""
INTERCEPTOR_PORT_NAME = "proxy"
SKIP_SCALED_OBJECT = "httpscaledobject.keda.sh/skip-scaledobject-creation"
HTTP_TRIGGER = "http-requests"


def ingress_backend(settings: Settings, service: str, port_name: str) -> tuple[str, str]:
    """The Service and port the Ingress routes to: the interceptor when scaling to zero, else the service."""
    if settings.scales_to_zero:
        return INTERCEPTOR_SERVICE, INTERCEPTOR_PORT_NAME
    return service, port_name


def interceptor_service_spec() -> dict[str, Any]:
    return {
        "type": "ExternalName",
        "externalName": f"{INTERCEPTOR_PROXY}.{KEDA_NAMESPACE}.svc.cluster.local",
        "ports": [
            {
                "name": INTERCEPTOR_PORT_NAME,
                "port": INTERCEPTOR_PROXY_PORT,
                "targetPort": INTERCEPTOR_PROXY_PORT,
                "protocol": "TCP",
            }
        ],
    }


def http_scaled_object_spec(
    settings: Settings, deployment: str, service: str, port_name: str
) -> dict[str, Any]:
    idle = settings.scale_to_zero
    spec: dict[str, Any] = {
        "scaleTargetRef": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": deployment,
            "service": service,
            "portName": port_name,
        },
        "replicas": {"min": 0, "max": settings.max_replicas},
        # Seconds with no request before the last pod goes: KEDA's cooldown before scaling to zero.
        "scaledownPeriod": idle.idle_s,
        # Requests in flight per pod: a full batch each before another pod is asked for.
        "scalingMetric": {"concurrency": {"targetValue": settings.server.max_batch_size}},
        "timeouts": {
            # The cold-start hold: past it the interceptor answers instead of holding on (never a hang).
            "conditionWait": f"{idle.cold_start_timeout_s}s",
            "responseHeader": f"{settings.server.request_timeout_s}s",
        },
    }
    if settings.ingress_host:
        spec["hosts"] = [settings.ingress_host]
    # Without hosts the interceptor routes every host to this target (the add-on's catch-all).
    return spec


def http_scaled_object_annotations(monitoring: bool) -> dict[str, str]:
    """With monitoring, Liftoff's ScaledObject owns the replica count; the add-on must not make another."""
    return {SKIP_SCALED_OBJECT: "true"} if monitoring else {}


def http_trigger(http_scaled_object: str) -> dict[str, Any]:
    """The add-on's request count as a trigger of Liftoff's ScaledObject (what its operator would write)."""
    return {
        "type": "external-push",
        "name": HTTP_TRIGGER,
        "metadata": {"scalerAddress": EXTERNAL_SCALER, "httpScaledObject": http_scaled_object},
    }


def keda_http_values(settings: Settings) -> dict[str, Any]:
    """Values of the pinned chart (each key checked against its values.yaml in tests/infra)."""
    hold = f"{settings.scale_to_zero.cold_start_timeout_s}s"
    return {
        "crds": {"install": True},
        "interceptor": {
            # Two keep the path up through a node drain; its PDB allows one down (the chart's default).
            "replicas": {"min": 2, "max": 10},
            "readinessTimeout": hold,
            "responseHeaderTimeout": f"{settings.server.request_timeout_s}s",
        },
    }
