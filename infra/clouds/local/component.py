"""The `local` platform: an existing cluster from the kubeconfig (kind, minikube, k3d, Docker Desktop).

No cloud resources: a Kubernetes provider for the chosen context, and optionally a registry the cluster
can pull from (kind's local registry, for instance). Without one, `liftoff:image` names the image.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import yaml

from infra.clouds.local.settings import LocalSettings
from infra.clouds.local.weights import create_weights
from infra.clouds.platform import GpuScheduling, Platform, Registry, Toleration
from infra.settings import Settings
from infra.weights.stack import stack_weights

GPU_TOLERATION = Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")


@dataclass(frozen=True)
class LocalPlatformArgs:
    local: LocalSettings
    """The `liftoff:local*` settings."""


class LocalPlatform(pulumi.ComponentResource):
    """The current kubeconfig context as a `Platform`."""

    k8s_provider: k8s.Provider
    cluster_name: str
    kubeconfig: pulumi.Output[str]

    def __init__(
        self, name: str, args: LocalPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("liftoff:local:Platform", name, None, opts)
        kubeconfig_path = _kubeconfig_path(args.local.kubeconfig)
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=args.local.kubeconfig,
            context=args.local.context,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cluster_name = args.local.context or _current_context(kubeconfig_path) or "current-context"
        self.kubeconfig = pulumi.Output.secret(_read(kubeconfig_path))
        self.register_outputs({"clusterName": self.cluster_name, "kubeconfig": self.kubeconfig})


def create_platform(settings: Settings) -> Platform:
    local = settings.cloud_settings_as(LocalSettings)
    component = LocalPlatform("local", LocalPlatformArgs(local=local))
    gpu = (
        GpuScheduling(
            node_selector=local.gpu_node_selector, tolerations=(GPU_TOLERATION,), count=settings.gpu
        )
        if settings.gpu > 0
        else None
    )
    location = stack_weights(settings)
    weights = create_weights("weights", settings, location) if location is not None else None
    return Platform(
        name="local",
        cluster_name=component.cluster_name,
        k8s_provider=component.k8s_provider,
        kubeconfig=component.kubeconfig,
        registry=Registry(url=local.registry, insecure=local.registry_insecure) if local.registry else None,
        gpu=gpu,
        install_device_plugin=gpu is not None and local.install_device_plugin,
        install_metrics_server=local.install_metrics_server,
        # kind's and Docker Desktop's kubelets serve self-signed certificates.
        metrics_server_args=("--kubelet-insecure-tls",),
        image_platform=local.image_platform,
        weights=weights,
    )


def _kubeconfig_path(configured: str | None) -> Path:
    """What kubectl reads: the configured path, else the first entry of $KUBECONFIG, else ~/.kube/config."""
    if configured:
        return Path(configured).expanduser()
    from_env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(from_env).expanduser() if from_env else Path.home() / ".kube" / "config"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _current_context(path: Path) -> str | None:
    try:
        loaded = yaml.safe_load(_read(path)) or {}
    except yaml.YAMLError:
        return None
    context = loaded.get("current-context") if isinstance(loaded, dict) else None
    return context if isinstance(context, str) and context else None
