"""Every Helm chart Liftoff installs, pinned: repository, chart and version in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    repo: str
    name: str
    version: str


TRAEFIK = Chart("https://traefik.github.io/charts", "traefik", "37.3.0")
"""Traefik Proxy v3.6: the ingress controller (the community ingress-nginx is out of maintenance)."""
NVIDIA_DEVICE_PLUGIN = Chart("https://nvidia.github.io/k8s-device-plugin", "nvidia-device-plugin", "0.17.1")
METRICS_SERVER = Chart("https://kubernetes-sigs.github.io/metrics-server/", "metrics-server", "3.12.2")
KEDA = Chart("https://kedacore.github.io/charts", "keda", "2.17.2")
KUBE_PROMETHEUS_STACK = Chart(
    "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "75.15.0"
)
DCGM_EXPORTER = Chart("https://nvidia.github.io/dcgm-exporter/helm-charts", "dcgm-exporter", "4.1.3")
"""DCGM exporter 4.2.x-4.1.x: GPU utilisation and memory for Prometheus."""
