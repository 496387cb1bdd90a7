"""The `gcp` platform: GKE with a system pool and an autoscaled GPU pool, and Artifact Registry.

`create_platform(settings)` builds `GcpPlatform` (component.py) and describes it as a `Platform`. GKE
installs the NVIDIA driver and device plugin on GPU nodes and ships metrics-server, so the shared layer
installs neither; GPU pods select the accelerator label and tolerate the GPU taint.
"""

from __future__ import annotations

from infra.clouds.gcp.component import GcpPlatform, GcpPlatformArgs
from infra.clouds.gcp.node_pools import ACCELERATOR_LABEL, GPU_TAINT_KEY
from infra.clouds.platform import GpuScheduling, Platform, Registry, Toleration
from infra.settings import Settings
from infra.settings.gcp import GcpSettings

__all__ = ["GcpPlatform", "GcpPlatformArgs", "create_platform"]

# Exists (not Equal): matches GKE's `present` value and any other it might use; NoSchedule as tainted.
GPU_TOLERATION = Toleration(key=GPU_TAINT_KEY, operator="Exists", effect="NoSchedule")


def create_platform(settings: Settings) -> Platform:
    gcp_settings: GcpSettings = settings.cloud_settings
    component = GcpPlatform("liftoff", GcpPlatformArgs(gcp=gcp_settings))
    gpu = (
        GpuScheduling(
            node_selector={ACCELERATOR_LABEL: gcp_settings.gpu_accelerator_type},
            tolerations=(GPU_TOLERATION,),
            count=settings.gpu,
        )
        if settings.gpu > 0
        else None
    )
    return Platform(
        name="gcp",
        cluster_name=component.cluster.name,
        k8s_provider=component.provider,
        kubeconfig=component.kubeconfig,
        registry=Registry(
            url=component.registry.url,
            username=component.registry.username,
            password=component.registry.password,
        ),
        gpu=gpu,
        install_device_plugin=False,
        install_metrics_server=False,
        # GKE collects DCGM metrics itself; NVIDIA's exporter cannot find the driver where GKE installs it.
        install_dcgm_exporter=False,
        depends_on=(component.node_pools.system, component.node_pools.gpu),
    )
