"""Every Helm chart Liftoff installs, pinned: repository, chart, version and the app version it ships, each
with the day it was read and where.

An internet-facing or cluster-wide add-on also has a floor (`APP_VERSION_FLOORS`): the oldest app version
without a published vulnerability known on the floor's date. tests/infra/test_versions.py fails when a pin
sits below its floor, so moving a pin back, or a new advisory recorded here, cannot go unnoticed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Chart:
    repo: str
    name: str
    version: str
    app_version: str | None = None
    """The chart's `appVersion` at that version (None: not read)."""
    read: date | None = None
    source: str = ""


TRAEFIK = Chart(
    "https://traefik.github.io/charts",
    "traefik",
    "41.3.0",
    "v3.7.11",
    date(2026, 12, 7),
    "github.com/traefik/traefik-helm-chart tag v41.3.0 (2026-08-21, the newest in the mirror of 2026-08-21), "
    "traefik/Chart.yaml",
)
"""Traefik Proxy v3.7: the ingress controller (the community ingress-nginx is out of maintenance). Its values,
schema and Middleware CRD at this version are in tests/infra/upstream/ (README there: source and date)."""
CERT_MANAGER = Chart(
    "https://charts.jetstack.io",
    "cert-manager",
    "v1.21.1",
    "v1.21.1",
    date(2026, 12, 2),
    "github.com/cert-manager/cert-manager tag v1.21.1 (2026-07-29, the newest in the mirror of 2026-08-22; "
    "the project supports its two latest minors)",
)
"""Let's Encrypt certificates for liftoff:tlsEmail. Jetstack's chart versions carry the v."""
NVIDIA_DEVICE_PLUGIN = Chart(
    "https://nvidia.github.io/k8s-device-plugin",
    "nvidia-device-plugin",
    "0.20.0",
    "0.20.0",
    date(2026, 12, 7),
    "github.com/NVIDIA/k8s-device-plugin tag v0.20.0 (2026-08-19, the newest in the mirror of 2026-08-19), "
    "deployments/helm/nvidia-device-plugin/Chart.yaml (kubeVersion >= 1.10)",
)
METRICS_SERVER = Chart(
    "https://kubernetes-sigs.github.io/metrics-server/",
    "metrics-server",
    "3.13.1",
    "0.8.1",
    date(2026, 12, 7),
    "github.com/kubernetes-sigs/metrics-server tag metrics-server-helm-chart-3.13.1 (2026-06-11, the newest "
    "chart in the mirror of 2026-08-04); its README's matrix: metrics-server 0.8.x supports Kubernetes 1.31+",
)
KEDA = Chart(
    "https://kedacore.github.io/charts",
    "keda",
    "2.20.2",
    "2.20.2",
    date(2026, 12, 4),
    "kedacore/charts commit cbb9bb8 'prepare v2.20.2 release' (2026-07-31, the newest keda chart in the "
    "mirror read on 2026-12-04); tested on Kubernetes 1.33 to 1.35 (infra/versions.py keeps the range)",
)
"""Its values.yaml only adds keys to 2.19.0's (checked with a diff); the ones Liftoff sets are unchanged."""
KUBE_PROMETHEUS_STACK = Chart(
    "https://prometheus-community.github.io/helm-charts",
    "kube-prometheus-stack",
    "88.5.3",
    "v0.93.1",
    date(2026, 12, 7),
    "github.com/prometheus-community/helm-charts tag kube-prometheus-stack-88.5.3 (2026-08-21, the newest in "
    "the mirror of 2026-08-22), charts/kube-prometheus-stack/Chart.yaml (kubeVersion >= 1.25; Grafana "
    "subchart 12.11.1 of grafana-community/helm-charts)",
)
DCGM_EXPORTER = Chart(
    "https://nvidia.github.io/dcgm-exporter/helm-charts",
    "dcgm-exporter",
    "4.8.2",
    "4.8.2",
    date(2026, 12, 7),
    "github.com/NVIDIA/dcgm-exporter tag 4.5.3-4.8.2 (2026-05-06, the newest in the mirror of 2026-05-12), "
    "deployment/Chart.yaml (kubeVersion >= 1.19)",
)
"""DCGM exporter 4.5.3 (DCGM 4.8.2 in the chart's numbering): GPU utilisation and memory for Prometheus."""
KEDA_HTTP = Chart(
    "https://kedacore.github.io/charts",
    "keda-add-ons-http",
    "0.15.0",
    None,
    date(2026, 12, 2),
    "kedacore/charts commit c4b92e9 'release v0.15.0' (2026-06-15, the newest in the mirror read on "
    "2026-12-02); built against KEDA 2.18 APIs, runs on the KEDA above",
)
"""Its interceptor holds requests while a Deployment scales from zero (liftoff:minReplicas 0). Beta: see
docs/scale-to-zero.md. Its values.yaml and HTTPScaledObject CRD are in tests/infra/upstream/keda/."""

ALL = (
    TRAEFIK,
    CERT_MANAGER,
    NVIDIA_DEVICE_PLUGIN,
    METRICS_SERVER,
    KEDA,
    KUBE_PROMETHEUS_STACK,
    DCGM_EXPORTER,
    KEDA_HTTP,
)


@dataclass(frozen=True)
class Floor:
    app_version: str
    recorded: date
    why: str


APP_VERSION_FLOORS: dict[str, Floor] = {
    # The internet-facing proxy: v3.6.12 fixed CVE-2026-32695 and CVE-2026-33433 (traefik-helm-chart pull
    # request 1779, "publish v39.0.7 ... Proxy v3.6.12 with CVE fixes", 2026-03-30); later v3.6 patches
    # fixed more (GHSA-9cr8-q42q-g8m7 among them), and the pinned v3.7.11 is past them all.
    "traefik": Floor("v3.6.12", date(2026, 12, 7), "https://github.com/traefik/traefik-helm-chart/pull/1779"),
}


def version_key(version: str) -> tuple[int, ...]:
    """`v3.6.12` -> (3, 6, 12): numeric parts only, so `v` prefixes and suffixes do not upset the order."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-")[0])[:3])


def below_floor(charts: tuple[Chart, ...] = ALL) -> list[str]:
    """Each pinned chart whose app version is older than its floor, or has a floor but no app version read."""
    problems = []
    for chart in charts:
        floor = APP_VERSION_FLOORS.get(chart.name)
        if floor is None:
            continue
        if chart.app_version is None or version_key(chart.app_version) < version_key(floor.app_version):
            problems.append(
                f"{chart.name} {chart.version} ships {chart.app_version or 'an unread app version'}, older "
                f"than the floor {floor.app_version} recorded {floor.recorded} ({floor.why})"
            )
    return problems
