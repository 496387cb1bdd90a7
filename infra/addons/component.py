"""Cluster add-ons, each a pinned Helm release switched by settings and the platform.

Traefik (ingress controller), NVIDIA device plugin (where the platform says the cluster lacks it),
metrics-server (where the cluster lacks it, or when asked), and with monitoring: kube-prometheus-stack,
KEDA and the DCGM exporter. Release names are fixed, so the objects they create have known names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.addons import charts, traefik_rbac
from infra.addons.charts import Chart
from infra.clouds.platform import GpuScheduling, Platform
from infra.workload import scale_to_zero

INGRESS_NAMESPACE = "traefik"
INGRESS_CLASS = "traefik"
MONITORING_NAMESPACE = "monitoring"
KEDA_NAMESPACE = scale_to_zero.KEDA_NAMESPACE
CERT_MANAGER_NAMESPACE = "cert-manager"
PROMETHEUS_NAME = "kps"
"""fullnameOverride of kube-prometheus-stack: Prometheus answers at kps-prometheus.monitoring:9090."""
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105 (the Secret's name)
PROMETHEUS_URL = f"http://{PROMETHEUS_NAME}-prometheus.{MONITORING_NAMESPACE}.svc:9090"


@dataclass(frozen=True)
class AddonsArgs:
    platform: Platform
    """Provider, GPU scheduling, which add-ons the cluster lacks, the ingress Service's annotations."""
    monitoring: bool
    """kube-prometheus-stack, KEDA and (with GPUs) the DCGM exporter."""
    metrics_server: bool
    """Install metrics-server even if the platform does not ask for it."""
    grafana_admin_password: pulumi.Input[str] | None
    """Secret; used when monitoring."""
    https_redirect: bool = False
    """A host has TLS: Traefik's web entry point redirects every plain HTTP request to HTTPS."""
    cert_manager: bool = False
    """Install cert-manager (liftoff:tlsEmail: Let's Encrypt certificates by HTTP-01)."""
    keda_http_values: Mapping[str, Any] | None = None
    """The KEDA HTTP add-on's values when the service scales to zero (with KEDA itself); None: neither."""
    service_namespace: str = "liftoff"
    """The inference service's namespace: the only one Traefik and Grafana's dashboard sidecar watch."""


class Addons(pulumi.ComponentResource):
    """The cluster-wide pieces the inference service relies on."""

    ingress_address: pulumi.Output[str]
    """The ingress controller's load balancer: hostname or IP."""
    ingress_namespace: str = INGRESS_NAMESPACE
    monitoring_namespace: str | None
    prometheus_url: str | None
    custom_resource_owners: list[pulumi.Resource]
    """Releases that install the CRDs the service uses (ServiceMonitor, ScaledObject): depend on them."""

    def __init__(self, name: str, args: AddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # The type token predates the move out of infra/workload/; kept, so deployed stacks keep their URNs.
        super().__init__("liftoff:workload:Addons", name, None, opts)
        self._platform = args.platform
        gpu = args.platform.gpu
        scales_to_zero = args.keda_http_values is not None
        traefik_access = self._traefik_rbac()
        traefik = self._release(
            INGRESS_NAMESPACE,
            charts.TRAEFIK,
            traefik_values(
                args.platform,
                external_names=scales_to_zero,
                https_redirect=args.https_redirect,
                service_namespace=args.service_namespace,
            ),
            depends_on=traefik_access,
        )
        # Traefik's chart installs the Middleware CRD the service's Ingress uses.
        self.custom_resource_owners = [traefik]
        if args.cert_manager:
            self.custom_resource_owners.append(
                self._release(CERT_MANAGER_NAMESPACE, charts.CERT_MANAGER, cert_manager_values())
            )
        if gpu is not None and args.platform.install_device_plugin:
            self._release(
                "nvidia-device-plugin", charts.NVIDIA_DEVICE_PLUGIN, device_plugin_values(gpu), "kube-system"
            )
        if args.platform.install_metrics_server or args.metrics_server:
            self._release(
                "metrics-server", charts.METRICS_SERVER, metrics_server_values(args.platform), "kube-system"
            )
        if args.monitoring or scales_to_zero:
            keda = self._release(KEDA_NAMESPACE, charts.KEDA, keda_values())
            self.custom_resource_owners.append(keda)
        if args.keda_http_values is not None:
            # Its interceptor is scaled by a ScaledObject of its own: KEDA's CRDs first.
            self.custom_resource_owners.append(
                self._release(
                    scale_to_zero.HTTP_RELEASE,
                    charts.KEDA_HTTP,
                    args.keda_http_values,
                    KEDA_NAMESPACE,
                    depends_on=[keda],
                )
            )
        self.monitoring_namespace = None
        self.prometheus_url = None
        self.grafana_admin_password: pulumi.Output[str] | None = None
        if args.monitoring:
            prometheus = self._release(
                "kube-prometheus-stack",
                charts.KUBE_PROMETHEUS_STACK,
                prometheus_values(args.service_namespace),
                MONITORING_NAMESPACE,
                timeout_s=900,
                depends_on=[self._grafana_admin(args.grafana_admin_password)],
            )
            if gpu is not None and args.platform.install_dcgm_exporter:
                self._release(
                    "dcgm-exporter",
                    charts.DCGM_EXPORTER,
                    dcgm_exporter_values(gpu),
                    MONITORING_NAMESPACE,
                    depends_on=[prometheus],
                )
            self.custom_resource_owners.append(prometheus)
            self.monitoring_namespace = MONITORING_NAMESPACE
            self.prometheus_url = PROMETHEUS_URL
        # The chart's Service, read back for its load balancer address.
        ingress_service = k8s.core.v1.Service.get(
            "ingress-controller",
            pulumi.Output.concat(INGRESS_NAMESPACE, "/", traefik.status.name),
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.platform.k8s_provider, depends_on=[traefik]
            ),
        )
        self.ingress_address = args.platform.lb_address(ingress_service)
        self.register_outputs({"ingressAddress": self.ingress_address})

    def _traefik_rbac(self) -> list[pulumi.Resource]:
        """Traefik's cluster-wide reads and its Role in its own namespace (infra/addons/traefik_rbac.py);
        the inference service grants it its own namespace the same way."""
        options = pulumi.ResourceOptions(
            parent=self, provider=self._platform.k8s_provider, depends_on=list(self._platform.depends_on)
        )
        # Made here rather than by Helm, so the Role can be in it before Traefik starts.
        namespace = k8s.core.v1.Namespace(
            "traefik-namespace", metadata={"name": INGRESS_NAMESPACE}, opts=options
        )
        in_namespace = pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(depends_on=[namespace]))
        return [
            namespace,
            *traefik_rbac.cluster_access(INGRESS_NAMESPACE, options),
            *traefik_rbac.namespace_access("ingress", INGRESS_NAMESPACE, INGRESS_NAMESPACE, in_namespace),
        ]

    def _grafana_admin(self, password: pulumi.Input[str] | None) -> k8s.core.v1.Secret:
        """Grafana's login, in a Secret the chart reads: a secret inside the release's values would hide
        all of them from previews and the offline plan."""
        options = pulumi.ResourceOptions(
            parent=self, provider=self._platform.k8s_provider, depends_on=list(self._platform.depends_on)
        )
        namespace = k8s.core.v1.Namespace(
            "monitoring-namespace", metadata={"name": MONITORING_NAMESPACE}, opts=options
        )
        if password is None:
            # Generated once and kept in the stack's state; read it with
            # `pulumi stack output grafanaAdminPassword --show-secrets`.
            password = random.RandomPassword(
                "grafana-admin-password", length=24, special=False, opts=pulumi.ResourceOptions(parent=self)
            ).result
        self.grafana_admin_password = pulumi.Output.secret(password)
        return k8s.core.v1.Secret(
            "grafana-admin",
            metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": MONITORING_NAMESPACE},
            type="Opaque",
            string_data={"admin-user": "admin", "admin-password": self.grafana_admin_password},
            opts=pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(depends_on=[namespace])),
        )

    def _release(
        self,
        name: str,
        chart: Chart,
        values: Mapping[str, Any],
        namespace: str | None = None,
        *,
        timeout_s: int = 600,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(
            name,
            name=name,
            namespace=namespace or name,
            create_namespace=True,
            chart=chart.name,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
            values=dict(values),
            # Null values in `values` remove a chart default (the device plugin's NFD-based affinity).
            atomic=True,
            cleanup_on_fail=True,
            timeout=timeout_s,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=self._platform.k8s_provider,
                depends_on=[*self._platform.depends_on, *(depends_on or [])],
            ),
        )


def traefik_values(
    platform: Platform,
    *,
    external_names: bool = False,
    https_redirect: bool = False,
    service_namespace: str = "liftoff",
) -> dict[str, Any]:
    """Traefik watches only `service_namespace` (and its own), with the rights infra/addons/traefik_rbac.py
    grants in place of the chart's cluster-wide ones (`rbac.enabled` false).
    `external_names`: Ingresses may route to an ExternalName Service (the KEDA HTTP interceptor's
    proxy, in another namespace, when scaling to zero); off otherwise, Traefik's safe default. As the
    provider reads Ingresses of `service_namespace` only, no other namespace's Ingress can use it.
    `https_redirect`: a host has TLS, so the web entry point redirects plain HTTP to HTTPS. Every key is
    checked against the chart's values.yaml at the pinned version (tests/infra/upstream/)."""
    values: dict[str, Any] = {
        "deployment": {"replicas": 2},
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        "ingressClass": {"enabled": True, "isDefaultClass": False, "name": INGRESS_CLASS},
        "rbac": {"enabled": False},
        "providers": {
            "kubernetesIngress": {
                "enabled": True,
                "publishedService": {"enabled": True},
                "allowExternalNameServices": external_names,
                "namespaces": [service_namespace],
            },
            # For the Middlewares (rate and body limits, HSTS) the service's Ingress names; only their own
            # namespace's, so one namespace cannot borrow or break another's.
            "kubernetesCRD": {
                "enabled": True,
                "allowCrossNamespace": False,
                "namespaces": [service_namespace],
            },
        },
        "service": {
            "annotations": dict(platform.ingress_annotations),
            # Keep the client's address (no SNAT to a node's) so the rate limit counts per client.
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
        },
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "accessLog": {"enabled": True},
    }
    if https_redirect:
        values["ports"] = {
            "web": {
                "http": {
                    "redirections": {"entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}
                }
            }
        }
    return values


def cert_manager_values() -> dict[str, Any]:
    """Checked against the chart's values.schema.json at the pinned version (tests/infra/upstream/)."""
    return {
        "crds": {"enabled": True, "keep": True},
        "replicaCount": 1,
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    }


def device_plugin_values(gpu: GpuScheduling) -> dict[str, Any]:
    """Only on GPU nodes: the chart's default affinity wants Node Feature Discovery labels, which the
    managed GPU pools do not carry, so it is replaced by the pool's own labels."""
    return {
        "nodeSelector": dict(gpu.node_selector),
        "tolerations": [t.to_k8s() for t in gpu.tolerations],
        "affinity": None,
        "priorityClassName": "system-node-critical",
    }


def metrics_server_values(platform: Platform) -> dict[str, Any]:
    return {"args": list(platform.metrics_server_args)}


def keda_values() -> dict[str, Any]:
    return {"crds": {"install": True}}


def prometheus_values(service_namespace: str = "liftoff") -> dict[str, Any]:
    """Grafana's dashboard sidecar reads ConfigMaps (never Secrets) of the service's namespace only, with a
    Role there and in its own namespace instead of the chart's cluster-wide ClusterRole."""
    return {
        "fullnameOverride": PROMETHEUS_NAME,
        # Managed control planes (EKS, GKE, AKS) expose no controller-manager, scheduler, etcd or kube-proxy
        # metrics to the cluster (and kind binds them to localhost): scraping them only fires TargetDown.
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeEtcd": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "prometheus": {
            "prometheusSpec": {
                # Pick up ServiceMonitors from every namespace, not only those labelled for this release.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "scrapeInterval": "15s",
                "retention": "7d",
            }
        },
        "grafana": {
            "rbac": {"namespaced": True, "namespaces": [service_namespace]},
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": "grafana_dashboard",
                    "labelValue": "1",
                    "searchNamespace": [service_namespace],
                    "resource": "configmap",
                }
            },
        },
    }


def dcgm_exporter_values(gpu: GpuScheduling) -> dict[str, Any]:
    return {
        "nodeSelector": dict(gpu.node_selector),
        "tolerations": [t.to_k8s() for t in gpu.tolerations],
        "serviceMonitor": {"enabled": True, "interval": "15s"},
    }
