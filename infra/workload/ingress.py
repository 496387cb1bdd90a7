"""What the internet reaches: the Ingress, Traefik's middlewares in front of it, and its certificate.

Only the inference and model-metadata routes are published (and the API docs with liftoff:publicDocs); the
probes stay for the kubelet and `/metrics` for Prometheus, inside the cluster. Every request passes a
per-client rate limit and a body size limit at Traefik before it costs a pod anything, and is buffered so
that Traefik can send it to another pod if its pod dies with it; with a host and TLS, plain HTTP is
redirected (Traefik's web entry point) and HTTPS answers carry HSTS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from infra.settings import Settings

MIDDLEWARE_API = "traefik.io/v1alpha1"
CLUSTER_ISSUER = "liftoff-letsencrypt"
LETSENCRYPT_SERVER = "https://acme-v02.api.letsencrypt.org/directory"
TLS_SECRET = "inference-tls"  # noqa: S105 (the Secret's name)
PLAIN_HTTP_WAIVER = "liftoff.dev/plain-http"
"""The policy pack's waiver for an Ingress without TLS (policies/liftoff_policies/edge.py): the reason, stated."""
HSTS_SECONDS = 31_536_000
"""A year, the minimum the HSTS preload list asks for."""
REPLAY_EXPRESSION = "IsNetworkError() && Attempts() <= 2"
"""When Traefik's buffering middleware sends a request again, through the load balancer, so to another pod:
the pod died with the request in hand (docs/notes/hardening.md, "A killed replica cuts no answer"). Traefik v3.6's
Retry middleware cannot: it stops once the request's headers were written to the pod
(pkg/middlewares/retry/retry.go, WrapHandler), and has no option for POST or for status codes until v3.7.
IsNetworkError() is the 502 or 504 Traefik's proxy makes of a connection closed or reset with no response
(vulcand/oxy v2.0.3 buffer/threshold.go; traefik pkg/proxy/httputil/proxy.go, ComputeStatusCode), which the
server never answers itself. Three attempts in all, as the lab's HAProxy (`retries 2`): the next pick may
still be the dead pod until Kubernetes drops it from the endpoints. Replaying a POST is safe here: inference
is not idempotent in HTTP's terms but is a pure function of its input, so a second run changes nothing."""


@dataclass(frozen=True)
class PublicPath:
    path: str
    path_type: str
    """"Exact" or "Prefix" (a Prefix matches whole path segments: /v2/models matches /v2/models/x only)."""


def public_paths(settings: Settings) -> list[PublicPath]:
    """The server's routes (service/api/routes.py) that the Ingress publishes."""
    paths = [
        PublicPath("/v2", "Exact"),  # server metadata
        PublicPath("/v2/models", "Prefix"),  # model metadata, readiness, infer (and their /versions/ twins)
        PublicPath("/predict", "Exact"),
        PublicPath("/v1/models", "Prefix"),  # KServe v1: the model list, readiness and :predict
        PublicPath("/predictions", "Prefix"),  # TorchServe's inference API
    ]
    if settings.edge.public_docs:
        paths += [PublicPath("/docs", "Prefix"), PublicPath("/openapi.json", "Exact")]
    return paths


def middleware_specs(settings: Settings) -> dict[str, dict[str, Any]]:
    """Traefik Middleware specs by name, in the order a request passes them."""
    edge = settings.edge
    specs: dict[str, dict[str, Any]] = {
        # Per client address: Traefik sees it because its Service keeps externalTrafficPolicy Local.
        "inference-rate-limit": {
            "rateLimit": {"average": edge.rate_limit_per_s, "period": "1s", "burst": edge.rate_limit_burst}
        },
        "inference-body-limit": {
            "buffering": {"maxRequestBodyBytes": edge.max_body_bytes, "retryExpression": REPLAY_EXPRESSION}
        },
    }
    if edge.tls:
        specs["inference-hsts"] = {
            "headers": {"stsSeconds": HSTS_SECONDS, "stsIncludeSubdomains": False, "forceSTSHeader": False}
        }
    return specs


def ingress_spec(settings: Settings, ingress_class: str, service: str, port_name: str) -> dict[str, Any]:
    backend = {"service": {"name": service, "port": {"name": port_name}}}
    rule: dict[str, Any] = {
        "http": {
            "paths": [
                {"path": p.path, "pathType": p.path_type, "backend": backend} for p in public_paths(settings)
            ]
        }
    }
    spec: dict[str, Any] = {"ingressClassName": ingress_class, "rules": [rule]}
    if settings.ingress_host:
        rule["host"] = settings.ingress_host
    if settings.edge.tls:
        spec["tls"] = [
            {"hosts": [settings.ingress_host], "secretName": settings.edge.tls_secret or TLS_SECRET}
        ]
    return spec


def ingress_annotations(settings: Settings) -> dict[str, str]:
    ns = settings.namespace
    annotations = {
        "traefik.ingress.kubernetes.io/router.middlewares": ",".join(
            f"{ns}-{name}@kubernetescrd" for name in middleware_specs(settings)
        )
    }
    if not settings.edge.tls:
        annotations[PLAIN_HTTP_WAIVER] = (
            "no liftoff:ingressHost with liftoff:tlsEmail or liftoff:tlsSecret yet"
        )
    if settings.edge.tls_email:
        # cert-manager's ingress-shim makes the Certificate for spec.tls and renews it.
        annotations["cert-manager.io/cluster-issuer"] = CLUSTER_ISSUER
    return annotations


def cluster_issuer_spec(email: str, ingress_class: str) -> dict[str, Any]:
    return {
        "acme": {
            "server": LETSENCRYPT_SERVER,
            "email": email,
            "privateKeySecretRef": {"name": f"{CLUSTER_ISSUER}-account"},
            "solvers": [{"http01": {"ingress": {"ingressClassName": ingress_class}}}],
        }
    }


def create_edge(
    name: str,
    settings: Settings,
    ingress_class: str,
    service: str,
    port_name: str,
    metadata: Any,
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.Ingress:
    """The middlewares, the ClusterIssuer (with liftoff:tlsEmail) and the Ingress that uses them."""
    middlewares = [
        k8s.apiextensions.CustomResource(
            f"{name}-{middleware}",
            api_version=MIDDLEWARE_API,
            kind="Middleware",
            metadata={**metadata, "name": middleware},
            spec=spec,
            opts=opts,
        )
        for middleware, spec in middleware_specs(settings).items()
    ]
    if settings.edge.tls_email:
        middlewares.append(
            k8s.apiextensions.CustomResource(
                f"{name}-cluster-issuer",
                api_version="cert-manager.io/v1",
                kind="ClusterIssuer",
                metadata={"name": CLUSTER_ISSUER, "labels": metadata.get("labels", {})},
                spec=cluster_issuer_spec(settings.edge.tls_email, ingress_class),
                opts=opts,
            )
        )
    return k8s.networking.v1.Ingress(
        f"{name}-ingress",
        metadata={**metadata, "annotations": ingress_annotations(settings)},
        spec=cast(Any, ingress_spec(settings, ingress_class, service, port_name)),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=middlewares)),
    )
