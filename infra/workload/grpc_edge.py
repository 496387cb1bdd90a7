"""The Open Inference Protocol over gRPC at the edge: Traefik speaks h2c to the pods' LIFTOFF_GRPC_PORT.

Traefik's Kubernetes Ingress provider takes a backend's scheme from its Service's annotation
(`traefik.ingress.kubernetes.io/service.serversscheme`, one scheme for every port) and ignores a port's
`appProtocol`, so the inference Service, whose HTTP port must stay HTTP/1.1, cannot carry it: a Service of
its own (`inference-grpc`, the gRPC port only) does, and a second Ingress routes the service's path,
`/inference.GRPCInferenceService/`, to it. Both use core objects only, validated strictly like the rest.

The edge is the HTTP one's: the same host, the same certificate (cert-manager's annotation stays on the
HTTP Ingress, which owns the Certificate; this one reads the same Secret), TLS terminated at Traefik, whose
HTTPS entry point speaks HTTP/2. The same per-client rate limit and HSTS; not the body buffering, which
turns a gRPC error status into a bare HTTP 500 (traefik/traefik#9788) and can stall gRPC calls
(traefik/traefik#13081), nor the retry that needs it: the server caps a message at the model's body limit
itself (service/grpc/listener.py). API keys go as `authorization`
metadata, checked by the server as over HTTP. The health service (grpc.health.v1) is not published: like
/readyz it answers without a key, for the kubelet and in-cluster balancers; a client outside asks
ServerReady or ModelReady, which need one. Scaling to zero, gRPC goes to the pods directly: the KEDA
interceptor that wakes them proxies HTTP/1.1 only, so a call while no pod runs meets UNAVAILABLE.
"""

from __future__ import annotations

from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from infra.settings import Settings
from infra.workload import ingress

GRPC_PATH = "/inference.GRPCInferenceService"
"""A Prefix path matches whole segments: every method of the service (`.../ModelInfer`), nothing else."""
H2C = "kubernetes.io/h2c"
"""The port's appProtocol (KEP-3726): cleartext HTTP/2, for a controller or mesh that reads it."""
SCHEME_ANNOTATION = "traefik.ingress.kubernetes.io/service.serversscheme"
EDGE_MIDDLEWARES = ("inference-rate-limit", "inference-hsts")
"""Of ingress.middleware_specs, the ones gRPC passes (see the module's docstring for the others)."""


def service_port(name: str, port: int) -> dict[str, Any]:
    return {"name": name, "port": port, "targetPort": name, "protocol": "TCP", "appProtocol": H2C}


def service_spec(labels: dict[str, str], port_name: str, port: int) -> dict[str, Any]:
    return {"type": "ClusterIP", "selector": labels, "ports": [service_port(port_name, port)]}


def ingress_spec(settings: Settings, ingress_class: str, service: str, port_name: str) -> dict[str, Any]:
    backend = {"service": {"name": service, "port": {"name": port_name}}}
    rule: dict[str, Any] = {
        "http": {"paths": [{"path": GRPC_PATH, "pathType": "Prefix", "backend": backend}]}
    }
    spec: dict[str, Any] = {"ingressClassName": ingress_class, "rules": [rule]}
    if settings.ingress_host:
        rule["host"] = settings.ingress_host
    if settings.edge.tls:
        secret = settings.edge.tls_secret or ingress.TLS_SECRET
        spec["tls"] = [{"hosts": [settings.ingress_host], "secretName": secret}]
    return spec


def ingress_annotations(settings: Settings) -> dict[str, str]:
    ns = settings.namespace
    names = [name for name in ingress.middleware_specs(settings) if name in EDGE_MIDDLEWARES]
    annotations = {
        "traefik.ingress.kubernetes.io/router.middlewares": ",".join(f"{ns}-{n}@kubernetescrd" for n in names)
    }
    if not settings.edge.tls:
        annotations[ingress.PLAIN_HTTP_WAIVER] = (
            "no liftoff:ingressHost with liftoff:tlsEmail or liftoff:tlsSecret yet"
        )
    return annotations


def create_grpc_edge(
    name: str,
    settings: Settings,
    ingress_class: str,
    labels: dict[str, str],
    port_name: str,
    port: int,
    metadata: Any,
    opts: pulumi.ResourceOptions,
    http_edge: pulumi.Resource,
) -> k8s.networking.v1.Ingress:
    """The h2c Service and the gRPC Ingress, after the HTTP edge (its middlewares and certificate)."""
    service_name = f"{metadata['name']}-grpc"
    service = k8s.core.v1.Service(
        f"{name}-grpc-service",
        metadata={**metadata, "name": service_name, "annotations": {SCHEME_ANNOTATION: "h2c"}},
        spec=cast(Any, service_spec(labels, port_name, port)),
        opts=opts,
    )
    return k8s.networking.v1.Ingress(
        f"{name}-grpc-ingress",
        metadata={**metadata, "name": service_name, "annotations": ingress_annotations(settings)},
        spec=cast(Any, ingress_spec(settings, ingress_class, service_name, port_name)),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[service, http_edge])),
    )
