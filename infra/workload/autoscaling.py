"""How the inference Deployment scales: a CPU HPA without monitoring; with it, a KEDA ScaledObject on
the server's own metrics (queue depth per pod, p95 latency of inference requests) plus CPU."""

from __future__ import annotations

from typing import Any

from infra.settings import Settings
from infra.workload import scale_to_zero

INFERENCE_ROUTES = "|".join(
    (
        "/v2/models/{name}/infer",
        "/v2/models/{name}/versions/{model_version}/infer",
        "/v1/models/{name}:predict",
        "/predict",
        "/predictions/{name}",
        "/predictions/{name}/{model_version}",
    )
)
"""The `route` label values of inference requests: the route table's fast rows (service/api/routes.py; not
imported, so the Pulumi program needs no FastAPI), which tests/infra checks against that table."""


def hpa_spec(settings: Settings, deployment: str) -> dict[str, Any]:
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicas": settings.min_replicas,
        "maxReplicas": settings.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {
                        "type": "Utilization",
                        "averageUtilization": settings.autoscaling.target_cpu_utilization,
                    },
                },
            }
        ],
        "behavior": _behavior(),
    }


def queue_depth_query(namespace: str, deployment: str) -> str:
    """Rows waiting across the Deployment's pods; KEDA's AverageValue divides by the replica count."""
    return f'sum(liftoff_queue_depth{{namespace="{namespace}",pod=~"{deployment}-.*"}})'


def p95_latency_query(namespace: str) -> str:
    return (
        "histogram_quantile(0.95, sum by (le) (rate(liftoff_request_duration_seconds_bucket"
        f'{{namespace="{namespace}",route=~"{INFERENCE_ROUTES}"}}[2m])))'
    )


def scaled_object_spec(
    settings: Settings, deployment: str, prometheus_url: str, http_scaled_object: str | None = None
) -> dict[str, Any]:
    """With `http_scaled_object` (scaling to zero), the KEDA HTTP add-on's request count is one more trigger:
    it wakes the Deployment from zero, and the cooldown before zero is the idle window."""
    targets = settings.autoscaling
    namespace = settings.namespace
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicaCount": settings.min_replicas,
        "maxReplicaCount": settings.max_replicas,
        "pollingInterval": 15,
        # KEDA applies it only to the last step, to zero.
        "cooldownPeriod": settings.scale_to_zero.idle_s if http_scaled_object else 300,
        "advanced": {"horizontalPodAutoscalerConfig": {"behavior": _behavior()}},
        "triggers": [
            {
                "type": "prometheus",
                "name": "queue-depth-per-pod",
                "metricType": "AverageValue",
                "metadata": {
                    "serverAddress": prometheus_url,
                    "query": queue_depth_query(namespace, deployment),
                    "threshold": str(targets.target_queue_depth),
                },
            },
            {
                "type": "prometheus",
                "name": "p95-latency",
                "metricType": "Value",
                "metadata": {
                    "serverAddress": prometheus_url,
                    "query": p95_latency_query(namespace),
                    "threshold": f"{targets.target_p95_latency_ms / 1000:g}",
                    "ignoreNullValues": "true",
                },
            },
            {
                "type": "cpu",
                "name": "cpu",
                "metricType": "Utilization",
                "metadata": {"value": str(targets.target_cpu_utilization)},
            },
        ],
    }
    if http_scaled_object is not None:
        spec["triggers"].insert(0, scale_to_zero.http_trigger(http_scaled_object))
    return spec


def _behavior() -> dict[str, Any]:
    """Scale up at once (a GPU node takes minutes to come), scale down slowly (and never below demand)."""
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
        },
    }
