"""Every Helm chart Liftoff installs, pinned: repository, chart and version in one place.

Dates: the versions below were pinned on 2026-11-30 from each repository's chart index (the `repo` URL),
KEDA moved to 2.20.2 on 2026-12-04 against its Kubernetes compatibility table (infra/versions.py keeps the tested
range, and the plan warns when the cluster's minor leaves it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    repo: str
    name: str
    version: str


TRAEFIK = Chart("https://traefik.github.io/charts", "traefik", "37.3.0")
"""Traefik Proxy v3.6: the ingress controller (the community ingress-nginx is out of maintenance). Its values
and Middleware CRD at this version are in tests/infra/upstream/ (README there: source and date)."""
CERT_MANAGER = Chart("https://charts.jetstack.io", "cert-manager", "v1.21.1")
"""cert-manager v1.21.1, released 2026-07-29 (github.com/cert-manager/cert-manager tag v1.21.1, the newest in
the mirror of 2026-08-22; the project supports its two latest minors). Let's Encrypt certificates for
liftoff:tlsEmail. Jetstack's chart versions carry the v."""
NVIDIA_DEVICE_PLUGIN = Chart("https://nvidia.github.io/k8s-device-plugin", "nvidia-device-plugin", "0.17.1")
METRICS_SERVER = Chart("https://kubernetes-sigs.github.io/metrics-server/", "metrics-server", "3.12.2")
KEDA = Chart("https://kedacore.github.io/charts", "keda", "2.20.2")
"""KEDA 2.20.2 (kedacore/charts commit cbb9bb8 "prepare v2.20.2 release", 2026-07-31, the newest keda chart in
the mirror read on 2026-12-04): tested on Kubernetes 1.33 to 1.35, so on the default 1.35 (2.19 stopped at 1.34).
Its values.yaml only adds keys to 2.19.0's (checked with a diff); the ones Liftoff sets are unchanged."""
KUBE_PROMETHEUS_STACK = Chart(
    "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "75.15.0"
)
DCGM_EXPORTER = Chart("https://nvidia.github.io/dcgm-exporter/helm-charts", "dcgm-exporter", "4.1.3")
"""DCGM exporter 4.2.x-4.1.x: GPU utilisation and memory for Prometheus."""
KEDA_HTTP = Chart("https://kedacore.github.io/charts", "keda-add-ons-http", "0.15.0")
"""KEDA HTTP add-on 0.15.0 (chart released 2026-06-15, kedacore/charts commit c4b92e9 "release v0.15.0", the
newest in the kedacore/charts mirror read on 2026-12-02; built against KEDA 2.18 APIs, runs on the KEDA above):
its interceptor holds requests while a Deployment scales from zero (liftoff:minReplicas 0). Beta: see
docs/scale-to-zero.md. Its values.yaml and HTTPScaledObject CRD are in tests/infra/upstream/keda/."""
