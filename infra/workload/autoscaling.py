"""How the inference Deployment scales: a CPU HPA without monitoring; with it, a KEDA ScaledObject on
the server's own metrics (queue depth per pod, p95 latency of inference requests) plus CPU."""

from __future__ import annotations

from typing import Any

from infra.settings import Settings

INFERENCE_ROUTES = "/v2/models/{name}/infer|/v2/models/{name}/versions/{model_version}/infer|/predict"
"""The `route` label values of inference requests (route templates, docs/service-contract.md): the server's
fast routes in service/api/routes.py, held to them by tests/infra/test_dev_stack.py."""


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


def scaled_object_spec(settings: Settings, deployment: str, prometheus_url: str) -> dict[str, Any]:
    targets = settings.autoscaling
    namespace = settings.namespace
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicaCount": settings.min_replicas,
        "maxReplicaCount": settings.max_replicas,
        "pollingInterval": 15,
        "cooldownPeriod": 300,
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
