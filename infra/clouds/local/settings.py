"""Settings of the `local` cloud: a cluster from the kubeconfig (kind, minikube, k3d, Docker Desktop).

The model for every `infra/settings/<cloud>.py`: a frozen dataclass and `load(source)`; keys carry the
cloud's prefix (`liftoff:local...`) and are declared in Pulumi.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.config_keys import ConfigSource


@dataclass(frozen=True)
class LocalSettings:
    context: str | None
    """Kubeconfig context to deploy to; None: the current context."""
    kubeconfig: str | None
    """Path of the kubeconfig file; None: $KUBECONFIG or ~/.kube/config, as kubectl finds it."""
    registry: str | None
    """Repository to push the built image to (e.g. kind's local registry `localhost:5001/liftoff`);
    None: no push, so `liftoff:image` must name an image the cluster can pull."""
    registry_insecure: bool
    """Push over plain HTTP (a local registry without TLS)."""
    gpu_node_selector: dict[str, str] = field(default_factory=dict)
    """Labels of the cluster's GPU nodes, if it has any (e.g. `nvidia.com/gpu.present: "true"`)."""
    install_device_plugin: bool = True
    """Install the NVIDIA device plugin when GPUs are requested (false if the cluster already runs one)."""
    install_metrics_server: bool = True
    """kind and Docker Desktop lack metrics-server (the CPU autoscaler needs it); k3d ships one: set false."""
    image_platform: str = "linux/amd64"
    """The nodes' OS/architecture: `linux/arm64` for kind on Apple silicon."""


def load(source: ConfigSource) -> LocalSettings:
    return LocalSettings(
        context=source.string("localContext"),
        kubeconfig=source.string("localKubeconfig"),
        registry=source.string("localRegistry", pattern=r"[a-z0-9][a-z0-9._\-/:]*[a-z0-9]"),
        registry_insecure=source.boolean("localRegistryInsecure", True),
        gpu_node_selector=source.mapping("localGpuNodeSelector"),
        install_device_plugin=source.boolean("localDevicePlugin", True),
        install_metrics_server=source.boolean("localMetricsServer", True),
        image_platform=source.choice(
            "localImagePlatform", ("linux/amd64", "linux/arm64"), default="linux/amd64"
        ),
    )
