"""Settings of the `local` cloud: a cluster from the kubeconfig (kind, minikube, k3d, Docker Desktop).

The model for every `infra/clouds/<cloud>/settings.py`: a `StackModel` whose aliases are the cloud's keys
(`liftoff:local...`, declared in Pulumi.yaml), `MODEL` naming it for the registry, and `load(source)`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from infra.config_keys import ConfigSource, GpuFloor, StackModel, StringMap, load_cloud

Repository = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._\-/:]*[a-z0-9]$")]


class LocalSettings(StackModel):
    context: str | None = Field(None, alias="localContext")
    """Kubeconfig context to deploy to; None: the current context."""
    kubeconfig: str | None = Field(None, alias="localKubeconfig")
    """Path of the kubeconfig file; None: $KUBECONFIG or ~/.kube/config, as kubectl finds it."""
    registry: Repository | None = Field(None, alias="localRegistry")
    """Repository to push the built image to (e.g. kind's local registry `localhost:5001/liftoff`);
    None: no push, so `liftoff:image` must name an image the cluster can pull."""
    registry_insecure: bool = Field(True, alias="localRegistryInsecure")
    """Push over plain HTTP (a local registry without TLS)."""
    gpu_node_selector: StringMap = Field(default_factory=dict, alias="localGpuNodeSelector")
    """Labels of the cluster's GPU nodes, if it has any (e.g. `nvidia.com/gpu.present: "true"`)."""
    install_device_plugin: bool = Field(True, alias="localDevicePlugin")
    """Install the NVIDIA device plugin when GPUs are requested (false if the cluster already runs one)."""
    install_metrics_server: bool = Field(True, alias="localMetricsServer")
    """kind and Docker Desktop lack metrics-server (the CPU autoscaler needs it); k3d ships one: set false."""
    image_platform: Literal["linux/amd64", "linux/arm64"] = Field("linux/amd64", alias="localImagePlatform")
    """The nodes' OS/architecture: `linux/arm64` for kind on Apple silicon."""

    gpu_pool_size_key: ClassVar[str] = ""

    def gpu_pod_capacity(self, gpus_per_pod: int) -> int | None:
        """None: the cluster's GPU nodes are not this program's to count."""
        return None

    def version_warnings(self, day: date) -> list[str]:
        """None: the cluster's version is whatever the kubeconfig's cluster runs."""
        return []

    @property
    def idle_gpu_nodes(self) -> GpuFloor | None:
        """None: Liftoff does not manage the cluster's nodes here (scaling to zero stops pods only)."""
        return None


MODEL = LocalSettings


def load(source: ConfigSource, today: date | None = None) -> LocalSettings:
    return load_cloud(LocalSettings, source, today)
