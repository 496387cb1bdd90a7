"""The one value every cloud hands to the shared Kubernetes layer.

Each cloud module (aws, gcp, azure, local) builds its cluster and registry and returns a `Platform`.
Nothing below this seam asks which cloud it is on: where clouds differ, the difference is a field here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from infra.weights.access import WeightsAccess


@dataclass(frozen=True)
class Registry:
    """Where the inference image is pushed, and the credentials to push it."""

    url: pulumi.Input[str]
    """Repository to push to, no tag or digest: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/liftoff`."""
    username: pulumi.Input[str] | None = None
    """Push user name; None for a registry that needs no login (a local one)."""
    password: pulumi.Input[str] | None = None
    """Push password or token; always a secret Output when set."""
    insecure: bool = False
    """Push over plain HTTP: only a local registry without TLS (kind's `localhost:5001`)."""


@dataclass(frozen=True)
class Toleration:
    """A Kubernetes toleration, kept cloud-neutral so the workload can render it as it likes."""

    key: str
    effect: str = "NoSchedule"
    operator: str = "Exists"
    value: str | None = None

    def to_k8s(self) -> dict[str, str]:
        rendered = {"key": self.key, "operator": self.operator, "effect": self.effect}
        if self.value is not None and self.operator == "Equal":
            rendered["value"] = self.value
        return rendered


@dataclass(frozen=True)
class GpuScheduling:
    """How a pod lands on this cluster's GPU nodes and asks for a GPU."""

    node_selector: Mapping[str, str]
    """Labels only GPU nodes carry, so GPU pods never land on the system pool."""
    tolerations: Sequence[Toleration]
    """Tolerations matching the taint the GPU pool carries (the pool's taint and these must agree)."""
    resource: str = "nvidia.com/gpu"
    """Extended resource name the device plugin advertises."""
    count: int = 1
    """GPUs per inference pod."""


def default_lb_address(service: k8s.core.v1.Service) -> pulumi.Output[str]:
    """Hostname (AWS) or IP (GCP, Azure, most local clusters) of a LoadBalancer Service."""

    def pick(status: k8s.core.v1.outputs.ServiceStatus | None) -> str:
        ingress = (status.load_balancer.ingress if status and status.load_balancer else None) or []
        if not ingress:
            return ""
        return ingress[0].hostname or ingress[0].ip or ""

    return service.status.apply(pick)


@dataclass(frozen=True)
class Platform:
    """What the shared Kubernetes layer needs to know about a cluster; built by one cloud module."""

    name: str
    """"aws" | "gcp" | "azure" | "local"."""
    cluster_name: pulumi.Input[str]
    k8s_provider: k8s.Provider
    """Every Kubernetes object is created with this provider, explicitly."""
    kubeconfig: pulumi.Output[str]
    """Secret: the kubeconfig the provider uses."""
    registry: Registry | None
    """Where to push the image; None when the cluster pulls from elsewhere and config gives `image`."""
    gpu: GpuScheduling | None
    """None: the service runs on CPU nodes."""
    install_device_plugin: bool
    """The cluster still needs the NVIDIA device plugin (EKS, AKS: yes; GKE installs its own)."""
    install_metrics_server: bool = False
    """The cluster lacks metrics-server (EKS), so the CPU HPA needs ours."""
    install_dcgm_exporter: bool = True
    """With monitoring and GPUs, install NVIDIA's DCGM exporter; False where the cloud collects GPU metrics
    itself (GKE's managed DCGM on COS nodes, where a self-installed exporter finds no GPU)."""
    metrics_server_args: Sequence[str] = ()
    """Extra metrics-server flags, e.g. `--kubelet-insecure-tls` where kubelets serve self-signed certificates
    (kind, Docker Desktop)."""
    ingress_annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations for the ingress controller's LoadBalancer Service (e.g. an internet-facing NLB on AWS)."""
    image_platform: str = "linux/amd64"
    """The nodes' OS/architecture, for the image build."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Cloud resources the workload must wait for (node pools, core add-ons). Kubernetes objects depend on
    them, so `pulumi destroy` deletes the Services (and their cloud load balancers) before the network."""
    lb_address: Callable[[k8s.core.v1.Service], pulumi.Output[str]] = default_lb_address
    """How this cloud reports a LoadBalancer Service's address."""
    weights: WeightsAccess | None = None
    """How the pods read the model's weights from this cloud's store (`infra/clouds/<cloud>/weights.py`);
    None when model.json names no weights."""
