"""The inference pod: container, probes, security, GPU scheduling, graceful shutdown.

Paths, port, user and environment follow docs/server.md.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra.clouds.platform import GpuScheduling
from infra.settings import Settings, server_values
from infra.weights.access import WeightsAccess
from infra.workload import api_keys, weights
from service.settings import env_name

PORT = 8080
PORT_NAME = "http"
GRPC_PORT = 8081
GRPC_PORT_NAME = "grpc"
"""The Open Inference Protocol over gRPC, cleartext HTTP/2 (h2c) inside the cluster."""
LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
METRICS_PATH = "/metrics"
METRICS_PORT = 9090
"""LIFTOFF_METRICS_PORT: the metrics on a port of their own, which only Prometheus may reach (the ingress
controller and KEDA reach PORT, which then no longer serves them)."""
METRICS_PORT_NAME = "metrics"
RUN_AS = 10001
"""The image's user and group (docs/server.md)."""
PROBE_PERIOD_S = 5


TERMINATION_MESSAGE_PATH = "/dev/termination-log"
"""Kubernetes' default, said explicitly, and given to the server as LIFTOFF_TERMINATION_MESSAGE_PATH."""


def environment(settings: Settings, weights_access: WeightsAccess | None = None) -> list[dict[str, Any]]:
    env = {
        "LIFTOFF_HOST": "0.0.0.0",  # noqa: S104 (inside the pod; the Service and NetworkPolicy guard it)
        "LIFTOFF_PORT": str(PORT),
        "LIFTOFF_METRICS_PORT": str(METRICS_PORT),
        "LIFTOFF_GRPC_PORT": str(GRPC_PORT),
        "LIFTOFF_DEVICE": "cuda" if settings.gpu > 0 else "cpu",
        "LIFTOFF_TERMINATION_MESSAGE_PATH": TERMINATION_MESSAGE_PATH,
    }
    # Every server setting a stack sets, by the server's own variable names (service/settings.py).
    env |= {env_name(name): str(value) for name, value in server_values(settings.server).items()}
    if settings.edge.auth:
        env["LIFTOFF_API_KEYS_FILE"] = api_keys.KEYS_FILE
    rendered: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in env.items()]
    rendered += weights.environment(weights_access)
    # Each replica names itself in the X-Liftoff-Replica header.
    rendered.append({"name": "LIFTOFF_REPLICA_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    return rendered


def resources(
    settings: Settings, gpu: GpuScheduling | None, weights_access: WeightsAccess | None = None
) -> dict[str, Any]:
    res = settings.resources
    requests: dict[str, str] = {"cpu": res.cpu_request, "memory": res.memory_request}
    limits: dict[str, str] = {"memory": res.memory_limit}
    if res.cpu_limit is not None:
        limits["cpu"] = res.cpu_limit
    if gpu is not None:
        # Extended resources: the request must equal the limit.
        requests[gpu.resource] = limits[gpu.resource] = str(gpu.count)
    extra = weights.extra_ephemeral_mib(weights_access)
    requests["ephemeral-storage"] = f"{256 + extra}Mi" if extra else "256Mi"
    limits["ephemeral-storage"] = f"{1024 + extra}Mi" if extra else "1Gi"
    return {"requests": requests, "limits": limits}


def probes(settings: Settings, weights_access: WeightsAccess | None = None) -> dict[str, Any]:
    """Startup waits out the model load (up to liftoff:startupTimeoutSeconds); readiness takes the pod out
    of the Service while it drains or is overloaded; liveness restarts a wedged process only."""

    def http(path: str) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": PORT_NAME}}

    return {
        "startupProbe": {
            **http(READINESS_PATH),
            "periodSeconds": PROBE_PERIOD_S,
            "failureThreshold": max(
                1,
                -(-(settings.startup_timeout_s + weights.extra_startup_s(weights_access)) // PROBE_PERIOD_S),
            ),
            "timeoutSeconds": 2,
        },
        "readinessProbe": {**http(READINESS_PATH), "periodSeconds": PROBE_PERIOD_S, "failureThreshold": 2},
        "livenessProbe": {
            **http(LIVENESS_PATH),
            "periodSeconds": 10,
            "failureThreshold": 6,
            "timeoutSeconds": 5,
        },
    }


def pod_security_context() -> dict[str, Any]:
    """Every Liftoff pod: its own non-root user and group (and volumes' group), the runtime's seccomp."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Every Liftoff container: its own non-root user, a read-only root, no capabilities, no escalation."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container(
    settings: Settings,
    image: pulumi.Input[str],
    gpu: GpuScheduling | None,
    weights_access: WeightsAccess | None = None,
) -> dict[str, Any]:
    return {
        "name": "server",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [
            {"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"},
            {"name": METRICS_PORT_NAME, "containerPort": METRICS_PORT, "protocol": "TCP"},
            {"name": GRPC_PORT_NAME, "containerPort": GRPC_PORT, "protocol": "TCP"},
        ],
        "env": environment(settings, weights_access),
        "envFrom": weights.env_from(weights_access),
        "resources": resources(settings, gpu, weights_access),
        **probes(settings, weights_access),
        # Keep serving while endpoints, kube-proxy and the ingress controller drop this pod; SIGTERM
        # comes after, and the server then drains within LIFTOFF_DRAIN_TIMEOUT_S.
        "lifecycle": {"preStop": {"sleep": {"seconds": settings.pre_stop_s}}}
        if settings.pre_stop_s
        else None,
        "securityContext": container_security_context(),
        # A model that fails its check at start-up writes its one-line reason here and exits
        # (service/model/failure.py): `kubectl describe pod` shows it, and the rollout fails with it.
        "terminationMessagePath": TERMINATION_MESSAGE_PATH,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (an emptyDir, per the contract)
            *(
                [{"name": "api-keys", "mountPath": api_keys.MOUNT_DIR, "readOnly": True}]
                if settings.edge.auth
                else []
            ),
            *weights.mount(weights_access),
        ],
    }


def pod_spec(
    settings: Settings,
    image: pulumi.Input[str],
    gpu: GpuScheduling | None,
    labels: dict[str, str],
    sa: str,
    weights_access: WeightsAccess | None = None,
) -> dict[str, Any]:
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": labels},
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]
    return {
        "serviceAccountName": sa,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": settings.termination_grace_s,
        "securityContext": pod_security_context(),
        "containers": [container(settings, image, gpu, weights_access)],
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
            # Readable by the server's group only (fsGroup); no subPath, so a changed Secret reaches the pod.
            *(
                [{"name": "api-keys", "secret": {"secretName": api_keys.SECRET_NAME, "defaultMode": 0o440}}]
                if settings.edge.auth
                else []
            ),
            *weights.volume(weights_access),
        ],
        "topologySpreadConstraints": spread,
        "nodeSelector": dict(gpu.node_selector) if gpu and gpu.node_selector else None,
        "tolerations": [t.to_k8s() for t in gpu.tolerations] if gpu else None,
    }
