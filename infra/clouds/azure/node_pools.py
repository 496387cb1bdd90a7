"""The system pool (inline in the cluster) and the autoscaled GPU user pool, and how pods reach the GPUs.

AKS installs the NVIDIA driver on N-series nodes but not the device plugin, and it puts no taint on GPU
nodes by itself (only on spot nodes): the GPU taint is ours, and `gpu_scheduling` hands the pods its toleration.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import containerservice

from infra.clouds.azure.settings import AzureSettings
from infra.clouds.children import Children
from infra.clouds.platform import GpuScheduling, Toleration

SYSTEM_POOL_NAME = "system"
GPU_POOL_NAME = "gpu"
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
GPU_TAINT = f"{GPU_TAINT_KEY}={GPU_TAINT_VALUE}:NoSchedule"
POOL_LABEL = "liftoff.dev/pool"
# The NVIDIA device plugin chart schedules its DaemonSet only on nodes with this label (or NFD's PCI
# label, which nothing on AKS sets): without it the plugin never starts and no GPU is advertised.
DEVICE_PLUGIN_LABEL = "nvidia.com/gpu.present"
GPU_NODE_LABELS = {POOL_LABEL: GPU_POOL_NAME, DEVICE_PLUGIN_LABEL: "true"}
# AKS puts this taint (and a label of the same name) on every spot node by itself.
SPOT_TAINT_KEY = "kubernetes.azure.com/scalesetpriority"
SPOT_TAINT_VALUE = "spot"

GPU_UPGRADE_SURGE = 1
"""Nodes an upgrade adds above a regular GPU pool's maximum (spot pools take no surge)."""


def system_pool_profile(
    settings: AzureSettings, subnet_id: pulumi.Input[str], tags: dict[str, str]
) -> containerservice.ManagedClusterAgentPoolProfileArgsDict:
    """The cluster's one inline pool: add-ons, the ingress controller and CPU-only workloads.

    Left untainted on purpose: with `liftoff:gpu` at 0 the service itself runs here.
    """
    profile: containerservice.ManagedClusterAgentPoolProfileArgsDict = {
        "name": SYSTEM_POOL_NAME,
        "mode": "System",
        "type": "VirtualMachineScaleSets",
        "os_type": "Linux",
        "os_sku": "Ubuntu",
        "vm_size": settings.system_vm_size,
        "enable_auto_scaling": True,
        "count": settings.system_min_count,
        "min_count": settings.system_min_count,
        "max_count": settings.system_max_count,
        "vnet_subnet_id": subnet_id,
        "node_labels": {POOL_LABEL: SYSTEM_POOL_NAME},
        "upgrade_settings": {"max_surge": "33%"},
        "tags": tags,
    }
    return profile


def create_gpu_pool(
    name: str,
    *,
    settings: AzureSettings,
    resource_group_name: pulumi.Input[str],
    cluster_name: pulumi.Input[str],
    subnet_id: pulumi.Input[str],
    children: Children,
    depends_on: list[pulumi.Resource],
) -> containerservice.AgentPool:
    """A user pool of N-series VMs that the cluster autoscaler grows from `gpu_min_count` (0 by default)."""
    spot: dict[str, Any] = (
        # -1: pay up to the on-demand price, so only capacity (never price) evicts; Delete: an evicted
        # node's disks go too, and the autoscaler may create a fresh node when capacity returns.
        {"scale_set_priority": "Spot", "scale_set_eviction_policy": "Delete", "spot_max_price": -1}
        if settings.gpu_spot
        # One extra node during an upgrade, never AKS's percentage: the preflight counts it in the quota.
        else {"scale_set_priority": "Regular", "upgrade_settings": {"max_surge": str(GPU_UPGRADE_SURGE)}}
    )
    return containerservice.AgentPool(
        name,
        agent_pool_name=GPU_POOL_NAME,
        resource_group_name=resource_group_name,
        resource_name_=cluster_name,
        mode="User",
        type="VirtualMachineScaleSets",
        os_type="Linux",
        os_sku="Ubuntu",
        vm_size=settings.gpu_vm_size,
        os_disk_size_gb=settings.gpu_os_disk_gb,
        os_disk_type="Managed",
        enable_auto_scaling=True,
        count=settings.gpu_min_count,
        min_count=settings.gpu_min_count,
        max_count=settings.gpu_max_count,
        vnet_subnet_id=subnet_id,
        node_taints=[GPU_TAINT],
        node_labels=GPU_NODE_LABELS,
        # "Install" is AKS's default, written out because it is the choice this stack rests on: AKS
        # installs and patches the driver, we add only the device plugin. "None" would be for the NVIDIA
        # GPU Operator, which brings its own driver. `gpu_instance_profile` (MIG) stays unset: the T4
        # has no MIG, and a whole GPU per pod is what `liftoff:gpu` asks for.
        gpu_profile={"driver": "Install"},
        tags=dict(children.tags),
        **spot,
        opts=pulumi.ResourceOptions(
            parent=children.parent,
            depends_on=depends_on,
            # The autoscaler owns the node count; a later `pulumi up` must not reset it to the minimum.
            ignore_changes=["count"],
        ),
    )


def gpu_scheduling(settings: AzureSettings, gpus_per_pod: int) -> GpuScheduling:
    """Selector and tolerations that land a pod on the GPU pool and nowhere else."""
    tolerations = [Toleration(GPU_TAINT_KEY, value=GPU_TAINT_VALUE, operator="Equal")]
    if settings.gpu_spot:
        tolerations.append(Toleration(SPOT_TAINT_KEY, value=SPOT_TAINT_VALUE, operator="Equal"))
    return GpuScheduling(
        node_selector={POOL_LABEL: GPU_POOL_NAME}, tolerations=tuple(tolerations), count=gpus_per_pod
    )
