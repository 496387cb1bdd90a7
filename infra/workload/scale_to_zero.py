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
from infra.workload import network_policies, pod

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
COLD_START_RESPONDER = "inference-cold-start"
"""Deployment and Service that answer 503 + Retry-After once a cold start outlives its hold
(service/cold_start.py): the add-on by itself would answer a bare 504."""
COLD_START_PORT = 8080
COLD_START_RETRY_AFTER_S = 10
RESPONDER_GRACE_S = 5
"""The add-on's own hold ends this long after the failover's, so the failover always answers first."""
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
        # Past the cold-start hold, the request goes to the responder: 503 + Retry-After, never a hang.
        "coldStartTimeoutFailoverRef": {
            "service": COLD_START_RESPONDER,
            "port": COLD_START_PORT,
            "timeoutSeconds": idle.cold_start_timeout_s,
        },
        "timeouts": {
            # The interceptor's own limit, a little later, for a failover that cannot be reached either.
            "conditionWait": f"{idle.cold_start_timeout_s + RESPONDER_GRACE_S}s",
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
    hold = f"{settings.scale_to_zero.cold_start_timeout_s + RESPONDER_GRACE_S}s"
    return {
        "crds": {"install": True},
        "interceptor": {
            # Two keep the path up through a node drain; its PDB allows one down (the chart's default).
            "replicas": {"min": 2, "max": 10},
            "readinessTimeout": hold,
            "responseHeaderTimeout": f"{settings.server.request_timeout_s}s",
        },
    }


def cold_start_responder_labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": COLD_START_RESPONDER, "app.kubernetes.io/part-of": "liftoff"}


def cold_start_responder_spec(image: Any) -> dict[str, Any]:
    """Two small pods of the inference image on the system pool (no GPU, no model), read-only, non-root."""
    labels = cold_start_responder_labels()
    probe = {"httpGet": {"path": "/healthz", "port": COLD_START_PORT}, "periodSeconds": 10}
    return {
        "replicas": 2,
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": pod.pod_security_context(),
                "containers": [
                    {
                        "name": "responder",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["python", "-m", "service.cold_start"],
                        "env": [
                            {"name": "LIFTOFF_PORT", "value": str(COLD_START_PORT)},
                            {"name": "LIFTOFF_RETRY_AFTER_S", "value": str(COLD_START_RETRY_AFTER_S)},
                        ],
                        "ports": [{"name": "http", "containerPort": COLD_START_PORT, "protocol": "TCP"}],
                        "resources": {
                            "requests": {"cpu": "10m", "memory": "64Mi"},
                            "limits": {"cpu": "200m", "memory": "128Mi"},
                        },
                        "livenessProbe": probe,
                        "readinessProbe": probe,
                        "securityContext": pod.container_security_context(),
                    }
                ],
            },
        },
    }


def cold_start_service_spec() -> dict[str, Any]:
    return {
        "selector": cold_start_responder_labels(),
        "ports": [{"name": "http", "port": COLD_START_PORT, "targetPort": "http", "protocol": "TCP"}],
    }


def cold_start_network_policy_spec() -> dict[str, Any]:
    """Only the interceptor reaches the responder."""
    return {
        "podSelector": {"matchLabels": cold_start_responder_labels()},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [network_policies.from_namespace(KEDA_NAMESPACE)],
                "ports": [{"port": COLD_START_PORT, "protocol": "TCP"}],
            }
        ],
    }
