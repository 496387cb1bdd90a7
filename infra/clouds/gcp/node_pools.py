"""Node pools: a small system pool for cluster add-ons and the ingress, and a GPU pool that scales from zero.

Both use `total_*_node_count`, limits for the whole pool rather than per zone: in a regional cluster a
per-zone maximum multiplies by the number of zones, and GPU capacity differs from zone to zone, so the
total is the honest budget. The GPU pool's location policy is ANY, letting the autoscaler take a GPU
wherever one is free (and spare Spot VMs from preemption); the system pool balances across zones.

GKE installs the NVIDIA driver (`gpu_driver_installation_config`) and its own device plugin on GPU nodes,
and taints them `nvidia.com/gpu=present:NoSchedule`. The taint is also declared here: GKE only adds it on
its own when another pool already exists, and stating it makes the pool's contract visible and testable.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_gcp as gcp

from infra.clouds.children import Children
from infra.clouds.gcp.identity import NodeIdentity
from infra.clouds.gcp.settings import GcpSettings

C = gcp.container

GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
GPU_TAINT_EFFECT = "NO_SCHEDULE"
ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
"""The node label GKE sets on GPU nodes to the accelerator type: the GPU pods' node selector."""
OAUTH_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
"""The scope is the widest; what the nodes may do is bounded by their service account's roles instead."""

GPU_UPGRADE_SURGE = 1
"""Nodes a GPU pool upgrade adds above the pool's maximum: the preflight counts them in the quota."""


@dataclass(frozen=True)
class NodePools:
    system: C.NodePool
    gpu: C.NodePool


def create_node_pools(
    name: str,
    settings: GcpSettings,
    *,
    cluster: C.Cluster,
    identity: NodeIdentity,
    children: Children,
) -> NodePools:
    opts = children.opts(depends_on=identity.grants)
    system = C.NodePool(
        f"{name}-system",
        project=settings.project,
        location=cluster.location,
        cluster=cluster.name,
        initial_node_count=1,
        autoscaling=C.NodePoolAutoscalingArgs(
            total_min_node_count=settings.system_nodes_min,
            total_max_node_count=settings.system_nodes_max,
            location_policy="BALANCED",
        ),
        management=C.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
        upgrade_settings=C.NodePoolUpgradeSettingsArgs(max_surge=1, max_unavailable=0),
        node_config=_node_config(
            settings,
            identity,
            machine_type=settings.system_machine_type,
            disk_size_gb=50,
            node_labels={"liftoff/pool": "system"},
            resource_labels=children.tagged(pool="system"),
        ),
        opts=opts,
    )
    gpu = C.NodePool(
        f"{name}-gpu",
        project=settings.project,
        location=cluster.location,
        cluster=cluster.name,
        node_locations=list(settings.gpu_zones) or None,
        initial_node_count=0,
        autoscaling=C.NodePoolAutoscalingArgs(
            total_min_node_count=settings.gpu_nodes_min,
            total_max_node_count=settings.gpu_nodes_max,
            location_policy="ANY",
        ),
        management=C.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
        # One new node at a time and never one fewer: GPU quota is tight and serving must not drop.
        upgrade_settings=C.NodePoolUpgradeSettingsArgs(max_surge=GPU_UPGRADE_SURGE, max_unavailable=0),
        node_config=_node_config(
            settings,
            identity,
            machine_type=settings.gpu_machine_type,
            # The CUDA image and its layers need room; 100 GB also raises pd-balanced throughput.
            disk_size_gb=100,
            node_labels={"liftoff/pool": "gpu"},
            resource_labels=children.tagged(pool="gpu"),
            spot=settings.gpu_spot,
            guest_accelerators=[
                C.NodePoolNodeConfigGuestAcceleratorArgs(
                    type=settings.gpu_accelerator_type,
                    count=settings.gpu_accelerator_count,
                    gpu_driver_installation_config=C.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                        gpu_driver_version=settings.gpu_driver_version
                    ),
                )
            ],
            taints=[
                C.NodePoolNodeConfigTaintArgs(
                    key=GPU_TAINT_KEY, value=GPU_TAINT_VALUE, effect=GPU_TAINT_EFFECT
                )
            ],
        ),
        # Created after the system pool, so the cluster's add-ons settle there and never wait for a GPU.
        opts=children.opts(depends_on=[*identity.grants, system]),
    )
    return NodePools(system=system, gpu=gpu)


def _node_config(
    settings: GcpSettings,
    identity: NodeIdentity,
    *,
    machine_type: str,
    disk_size_gb: int,
    node_labels: dict[str, str],
    resource_labels: dict[str, str],
    spot: bool = False,
    guest_accelerators: list[C.NodePoolNodeConfigGuestAcceleratorArgs] | None = None,
    taints: list[C.NodePoolNodeConfigTaintArgs] | None = None,
) -> C.NodePoolNodeConfigArgs:
    return C.NodePoolNodeConfigArgs(
        machine_type=machine_type,
        image_type="COS_CONTAINERD",
        disk_type="pd-balanced",
        disk_size_gb=disk_size_gb,
        service_account=identity.account.email,
        oauth_scopes=OAUTH_SCOPES,
        workload_metadata_config=C.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        shielded_instance_config=C.NodePoolNodeConfigShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_integrity_monitoring=True
        ),
        metadata={"disable-legacy-endpoints": "true"},
        labels=node_labels,
        resource_labels=resource_labels,
        spot=spot,
        guest_accelerators=guest_accelerators,
        taints=taints,
    )
