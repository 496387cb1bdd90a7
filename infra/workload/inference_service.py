"""The InferenceService: everything the model server needs in its own namespace.

Namespace (Pod Security "restricted"), the API keys' Secret, ServiceAccount (no token), Deployment (image by
digest, probes, zero-downtime rollout, graceful drain), Service, the edge (Ingress of the public routes,
Traefik middlewares, TLS: infra/workload/ingress.py), PodDisruptionBudget, NetworkPolicies (default deny),
autoscaling, and with monitoring a ServiceMonitor and a Grafana dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.addons import traefik_rbac
from infra.clouds.platform import Platform
from infra.settings import Settings
from infra.workload import (
    api_keys,
    autoscaling,
    grpc_edge,
    ingress,
    network_policies,
    pod,
    scale_to_zero,
    weights,
)
from infra.workload.dashboard import dashboard_json

NAME = "inference"


def untyped(manifest: dict[str, Any]) -> Any:
    """Manifest-shaped dicts (camelCase, as kubectl reads them) pass to the provider unchanged; the SDK's
    TypedDicts spell keys in snake_case, so this tells the type checker not to compare the two."""
    return manifest


POD_SECURITY_VERSION = "v1.33"
OPEN_ENDPOINT_WAIVER = "liftoff.dev/open-endpoint"


@dataclass(frozen=True)
class InferenceServiceArgs:
    settings: Settings
    """Replicas, resources, server environment, autoscaling targets, namespace, timeouts."""
    platform: Platform
    """Provider, GPU scheduling and the cloud resources to wait for."""
    image: pulumi.Input[str]
    """`repository@sha256:...`: what every pod runs."""
    ingress_namespace: str
    """Namespace of the ingress controller: the only source of traffic (Prometheus scrapes another port)."""
    ingress_class: str
    ingress_address: pulumi.Input[str]
    """The ingress controller's load balancer address, for the URL."""
    monitoring_namespace: str | None
    """Where Prometheus runs; None without monitoring."""
    prometheus_url: str | None
    """Prometheus for KEDA's triggers; None without monitoring (then a CPU HPA scales)."""
    depends_on: list[pulumi.Resource]
    """Add-ons whose CRDs or controllers the service's objects need."""


class InferenceService(pulumi.ComponentResource):
    url: pulumi.Output[str]
    """Where the model answers: http(s)://<host or load balancer>/v2/models/<name>/infer."""
    api_key: pulumi.Output[str] | None
    """Secret: the first API key (generated when liftoff:apiKeys is unset); None with liftoff:auth false."""

    def __init__(
        self, name: str, args: InferenceServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("liftoff:workload:InferenceService", name, None, opts)
        settings, platform = args.settings, args.platform
        ns = settings.namespace
        labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "liftoff"}

        def opts_(*extra: pulumi.Resource, **more: object) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self,
                provider=platform.k8s_provider,
                depends_on=[*platform.depends_on, *args.depends_on, *extra],
                **more,  # type: ignore[arg-type]
            )

        def meta(object_name: str = NAME, **extra: object) -> Any:
            return {"name": object_name, "namespace": ns, "labels": labels, **extra}

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": ns,
                "labels": {
                    **{
                        f"pod-security.kubernetes.io/{mode}": "restricted"
                        for mode in ("enforce", "audit", "warn")
                    },
                    **{
                        f"pod-security.kubernetes.io/{mode}-version": POD_SECURITY_VERSION
                        for mode in ("enforce", "audit", "warn")
                    },
                },
            },
            opts=opts_(),
        )
        # Traefik reads this namespace (and its own) only: its Role here, not a ClusterRole over every Secret.
        traefik_rbac.namespace_access(name, ns, args.ingress_namespace, opts_(namespace))
        self.api_key = None
        keys_secret: list[pulumi.Resource] = []
        if settings.edge.auth:
            keys = api_keys.keys_or_generated(settings.edge.api_keys, self)
            # The first key, for the user's curl: `pulumi stack output apiKey --show-secrets`.
            self.api_key = pulumi.Output.secret(keys.apply(lambda found: found[0]))
            keys_secret.append(api_keys.keys_secret(f"{name}-api-keys", ns, labels, keys, opts_(namespace)))
        else:
            pulumi.log.warn(
                "liftoff:auth is false: anyone who finds the address can call the model. "
                "Remove the setting to require API keys."
            )
        access = platform.weights
        account = k8s.core.v1.ServiceAccount(
            f"{name}-account",
            # The cloud's documented tie to the identity that may read the weights (infra/clouds/*/weights.py).
            metadata=meta(annotations=dict(access.service_account_annotations) if access else None),
            automount_service_account_token=False,
            opts=opts_(namespace, *(access.depends_on if access else ())),
        )
        gpu = platform.gpu
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta(
                annotations={
                    # The provider waits this long for the rollout: a GPU node may have to be created first.
                    "pulumi.com/timeoutSeconds": str(settings.deploy_timeout_s),
                    # The policy pack's waiver for a server without keys (policies/liftoff_policies/edge.py).
                    **({} if settings.edge.auth else {OPEN_ENDPOINT_WAIVER: "liftoff:auth is false"}),
                }
            ),
            spec=untyped(
                {
                    "selector": {"matchLabels": labels},
                    "revisionHistoryLimit": 5,
                    "progressDeadlineSeconds": settings.deploy_timeout_s,
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
                    },
                    "template": {
                        "metadata": {
                            **weights.template_metadata(access),
                            "labels": {**labels, **(access.pod_labels if access else {})},
                        },
                        "spec": pod.pod_spec(settings, args.image, gpu, labels, NAME, access),
                    },
                }
            ),
            opts=opts_(
                account,
                *keys_secret,
                custom_timeouts=pulumi.CustomTimeouts(
                    create=f"{settings.deploy_timeout_s}s", update=f"{settings.deploy_timeout_s}s"
                ),
            ),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta(),
            spec=untyped(
                {
                    "type": "ClusterIP",
                    "selector": labels,
                    "ports": [
                        {"name": pod.PORT_NAME, "port": 80, "targetPort": pod.PORT_NAME, "protocol": "TCP"},
                        # For the ServiceMonitor; the NetworkPolicy admits only Prometheus to it.
                        {
                            "name": pod.METRICS_PORT_NAME,
                            "port": pod.METRICS_PORT,
                            "targetPort": pod.METRICS_PORT_NAME,
                            "protocol": "TCP",
                        },
                        grpc_edge.service_port(pod.GRPC_PORT_NAME, pod.GRPC_PORT),
                    ],
                }
            ),
            opts=opts_(namespace),
        )
        backend, backend_port = scale_to_zero.ingress_backend(settings, NAME, pod.PORT_NAME)
        if settings.scales_to_zero:
            self._scale_to_zero_objects(name, settings, meta, opts_(namespace), opts_(deployment), args)
        http_edge = ingress.create_edge(
            name, settings, args.ingress_class, backend, backend_port, meta(), opts_(namespace)
        )
        grpc_edge.create_grpc_edge(
            name,
            settings,
            args.ingress_class,
            labels,
            pod.GRPC_PORT_NAME,
            pod.GRPC_PORT,
            meta(),
            opts_(namespace),
            http_edge,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-disruption-budget",
            metadata=meta(),
            spec=untyped({"maxUnavailable": 1, "selector": {"matchLabels": labels}}),
            opts=opts_(namespace),
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=meta(f"{NAME}-default-deny"),
            spec=untyped(network_policies.default_deny_spec()),
            opts=opts_(namespace),
        )
        sources = (
            [args.ingress_namespace]
            # The interceptor forwards the requests when scaling to zero.
            + ([scale_to_zero.KEDA_NAMESPACE] if settings.scales_to_zero else [])
        )
        server_policy = network_policies.server_spec(
            labels,
            [pod.PORT, pod.GRPC_PORT],
            sources,
            settings.edge.egress_cidrs,
            metrics_port=pod.METRICS_PORT,
            scrapers=[args.monitoring_namespace] if args.monitoring_namespace else [],
        )
        server_policy["egress"] += [dict(rule) for rule in (access.egress if access else ())]
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=meta(),
            spec=untyped(server_policy),
            opts=opts_(namespace),
        )
        if args.prometheus_url is None and not settings.scales_to_zero:
            # Scaling to zero, the HTTPScaledObject's own ScaledObject owns the count instead.
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-autoscaler",
                metadata=meta(),
                spec=untyped(autoscaling.hpa_spec(settings, NAME)),
                opts=opts_(deployment),
            )
        if args.prometheus_url is not None:
            k8s.apiextensions.CustomResource(
                f"{name}-scaled-object",
                api_version="keda.sh/v1alpha1",
                kind="ScaledObject",
                metadata=meta(),
                spec=autoscaling.scaled_object_spec(
                    settings, NAME, args.prometheus_url, NAME if settings.scales_to_zero else None
                ),
                opts=opts_(deployment),
            )
            k8s.apiextensions.CustomResource(
                f"{name}-service-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata=meta(),
                spec=untyped(
                    {
                        "selector": {"matchLabels": labels},
                        "namespaceSelector": {"matchNames": [ns]},
                        "endpoints": [
                            {"port": pod.METRICS_PORT_NAME, "path": pod.METRICS_PATH, "interval": "15s"}
                        ],
                    }
                ),
                opts=opts_(namespace),
            )
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard",
                metadata=meta(f"{NAME}-dashboard", labels={**labels, "grafana_dashboard": "1"}),
                data=untyped({"liftoff-inference.json": dashboard_json(ns)}),
                opts=opts_(namespace),
            )
        settings.edge.refuse_keys_over_http()
        if not settings.ingress_host:
            pulumi.log.warn(
                "No liftoff:ingressHost: traffic, API keys included, travels as plain HTTP. Point a DNS record "
                "at the load balancer (pulumi stack output url), then set liftoff:ingressHost and "
                "liftoff:tlsEmail (or liftoff:tlsSecret) for HTTPS."
            )
        elif not settings.edge.tls:
            pulumi.log.warn(
                f"liftoff:ingressHost {settings.ingress_host} has no certificate: traffic, API keys included, "
                "travels as plain HTTP. Set liftoff:tlsEmail (a Let's Encrypt certificate through cert-manager) "
                "or liftoff:tlsSecret (a kubernetes.io/tls Secret of yours) for HTTPS."
            )
        scheme = "https://" if settings.edge.tls else "http://"
        host = settings.ingress_host or args.ingress_address
        self.url = pulumi.Output.concat(scheme, host, "/v2/models/", settings.model_name, "/infer")
        self.register_outputs({"url": self.url, "apiKey": self.api_key})

    def _scale_to_zero_objects(
        self,
        name: str,
        settings: Settings,
        meta: Any,
        in_namespace: pulumi.ResourceOptions,
        after_deployment: pulumi.ResourceOptions,
        args: InferenceServiceArgs,
    ) -> None:
        """The interceptor's way in (ExternalName Service), the HTTPScaledObject and the cold-start responder
        it fails over to (docs/scale-to-zero.md)."""
        responder_meta: Any = {
            **meta(scale_to_zero.COLD_START_RESPONDER),
            "labels": scale_to_zero.cold_start_responder_labels(),
        }
        k8s.apps.v1.Deployment(
            f"{name}-cold-start",
            metadata=responder_meta,
            spec=untyped(scale_to_zero.cold_start_responder_spec(args.image)),
            opts=in_namespace,
        )
        k8s.core.v1.Service(
            f"{name}-cold-start",
            metadata=responder_meta,
            spec=untyped(scale_to_zero.cold_start_service_spec()),
            opts=in_namespace,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-cold-start",
            metadata=responder_meta,
            spec=untyped(scale_to_zero.cold_start_network_policy_spec()),
            opts=in_namespace,
        )
        k8s.core.v1.Service(
            f"{name}-interceptor",
            metadata=meta(scale_to_zero.INTERCEPTOR_SERVICE),
            spec=untyped(scale_to_zero.interceptor_service_spec()),
            opts=in_namespace,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-http-scaled-object",
            api_version="http.keda.sh/v1alpha1",
            kind="HTTPScaledObject",
            metadata=meta(
                annotations=scale_to_zero.http_scaled_object_annotations(args.prometheus_url is not None)
            ),
            spec=scale_to_zero.http_scaled_object_spec(settings, NAME, NAME, pod.PORT_NAME),
            opts=after_deployment,
        )
