"""The managed node groups: a small on-demand system pool, and a GPU pool that cluster-autoscaler scales
from zero. Nodes sit in the private subnets; their disks are encrypted and IMDSv2 is required."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.clouds.aws.kubeconfig import field
from infra.clouds.aws.network import Network
from infra.clouds.aws.settings import AwsSettings, GpuPool
from infra.clouds.children import Children
from infra.clouds.platform import Toleration

POOL_LABEL = "liftoff.dev/pool"
GPU_RESOURCE = "nvidia.com/gpu"
# The label the NVIDIA device plugin's chart selects nodes by (without node-feature-discovery), so the
# plugin's DaemonSet runs on GPU nodes only.
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
GPU_LABELS = {POOL_LABEL: "gpu", GPU_PRESENT_LABEL: "true"}
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
"""On the GPU nodes and in their autoscaler template: see GPU_MODELS in infra/clouds/aws/settings.py."""
SYSTEM_LABELS = {POOL_LABEL: "system"}
# Pods without this toleration (everything but the inference server and GPU DaemonSets) keep off GPU nodes.
GPU_TAINT = Toleration(key=GPU_RESOURCE, operator="Equal", value="true", effect="NoSchedule")
_EKS_TAINT_EFFECTS = {
    "NoSchedule": "NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
}
AUTOSCALER_TAG = "k8s.io/cluster-autoscaler"
# The scaling size belongs to cluster-autoscaler once the group exists; a later `pulumi up` must not reset it.
AUTOSCALER_OWNS_SIZE = ["scalingConfig.desiredSize"]


@dataclass(frozen=True)
class NodePools:
    node_role: aws.iam.Role
    system: aws.eks.NodeGroup
    gpu: aws.eks.NodeGroup | None

    @property
    def all(self) -> list[aws.eks.NodeGroup]:
        return [self.system] + ([self.gpu] if self.gpu else [])


def autoscaler_tags(
    cluster_name: str,
    labels: Mapping[str, str],
    taints: Sequence[Toleration] = (),
    resources: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Tags cluster-autoscaler discovers a group by, and the node template it assumes for a group with no
    node yet: without the template it cannot know a GPU node would fit a pending GPU pod, so a pool at zero
    would stay at zero."""
    tags = {f"{AUTOSCALER_TAG}/enabled": "true", f"{AUTOSCALER_TAG}/{cluster_name}": "owned"}
    template = f"{AUTOSCALER_TAG}/node-template"
    tags.update({f"{template}/label/{key}": value for key, value in labels.items()})
    tags.update({f"{template}/taint/{t.key}": f"{t.value}:{t.effect}" for t in taints})
    tags.update({f"{template}/resources/{key}": value for key, value in (resources or {}).items()})
    return tags


def create_node_pools(
    settings: AwsSettings,
    *,
    cluster: aws.eks.Cluster,
    cluster_name: str,
    network: Network,
    node_role: aws.iam.Role,
    children: Children,
    depends_on: Sequence[pulumi.Resource],
) -> NodePools:
    private_subnet_ids = [subnet.id for subnet in network.private_subnets]
    system = _node_group(
        "system",
        cluster=cluster,
        node_role=node_role,
        subnet_ids=private_subnet_ids,
        ami_type="AL2023_x86_64_STANDARD",
        instance_types=[settings.system_instance_type],
        capacity_type="ON_DEMAND",
        sizes=(settings.system_min_nodes, settings.system_max_nodes, settings.system_min_nodes),
        disk_gib=50,
        labels=SYSTEM_LABELS,
        taints=(),
        group_tags=children.tagged(**autoscaler_tags(cluster_name, SYSTEM_LABELS)),
        children=children,
        depends_on=depends_on,
    )
    gpu = None
    if settings.gpu_pool is not None:
        gpu = _gpu_node_group(
            settings.gpu_pool,
            cluster=cluster,
            cluster_name=cluster_name,
            node_role=node_role,
            subnet_ids=private_subnet_ids,
            children=children,
            depends_on=depends_on,
        )
    return NodePools(node_role, system, gpu)


def _gpu_node_group(
    pool: GpuPool,
    *,
    cluster: aws.eks.Cluster,
    cluster_name: str,
    node_role: aws.iam.Role,
    subnet_ids: list[pulumi.Output[str]],
    children: Children,
    depends_on: Sequence[pulumi.Resource],
) -> aws.eks.NodeGroup:
    labels = {**GPU_LABELS, ACCELERATOR_LABEL: pool.accelerator}
    template_tags = autoscaler_tags(
        cluster_name,
        labels,
        [GPU_TAINT],
        {GPU_RESOURCE: str(pool.gpus_per_node), "ephemeral-storage": f"{pool.disk_gib}Gi"},
    )
    group = _node_group(
        "gpu",
        cluster=cluster,
        node_role=node_role,
        subnet_ids=subnet_ids,
        # Amazon Linux 2023 with the NVIDIA driver and container toolkit; the device plugin is ours.
        ami_type="AL2023_x86_64_NVIDIA",
        instance_types=list(pool.instance_types),
        capacity_type="SPOT" if pool.spot else "ON_DEMAND",
        sizes=(pool.min_nodes, pool.max_nodes, pool.desired_nodes),
        disk_gib=pool.disk_gib,
        labels=labels,
        taints=[GPU_TAINT],
        group_tags=children.tagged(**template_tags),
        children=children,
        depends_on=depends_on,
    )
    # EKS does not copy node group tags to the Auto Scaling group behind it, and cluster-autoscaler reads the
    # node template from the group's tags, so each template tag is also put on the group itself.
    group_name = group.resources.apply(_autoscaling_group_name)
    for key, value in template_tags.items():
        if "/node-template/" not in key:
            continue  # EKS tags the group for auto-discovery itself
        aws.autoscaling.Tag(
            f"gpu-asg-{key.rsplit('/node-template/', 1)[1].replace('/', '-').replace('.', '-')}",
            autoscaling_group_name=group_name,
            tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
            opts=pulumi.ResourceOptions(parent=children.parent),
        )
    return group


def _autoscaling_group_name(resources: Sequence[aws.eks.outputs.NodeGroupResource] | None) -> str:
    groups = field(resources[0], "autoscaling_groups") if resources else None
    name = field(groups[0], "name") if groups else None
    if not name:
        raise ValueError("the GPU node group reports no Auto Scaling group to tag for cluster-autoscaler")
    return str(name)


def _node_group(
    name: str,
    *,
    cluster: aws.eks.Cluster,
    node_role: aws.iam.Role,
    subnet_ids: list[pulumi.Output[str]],
    ami_type: str,
    instance_types: list[str],
    capacity_type: str,
    sizes: tuple[int, int, int],
    disk_gib: int,
    labels: Mapping[str, str],
    taints: Sequence[Toleration],
    group_tags: Mapping[str, str],
    children: Children,
    depends_on: Sequence[pulumi.Resource],
) -> aws.eks.NodeGroup:
    min_size, max_size, desired_size = sizes
    template = aws.ec2.LaunchTemplate(
        f"{name}-nodes",
        description=f"Liftoff {name} pool nodes",
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda",  # the root volume of the EKS Amazon Linux 2023 AMIs
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=disk_gib, volume_type="gp3", encrypted="true", delete_on_termination="true"
                ),
            )
        ],
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled",
            http_tokens="required",
            # One hop: the node's own agents (kubelet, VPC CNI, Pod Identity agent: host network) reach IMDS, a
            # pod's packets (one hop more) do not, so no pod can take the node role's credentials (EKS best
            # practices). The EBS CSI node plugin then reads its zone and instance from the Node object.
            http_put_response_hop_limit=1,
        ),
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=dict(children.tags))
            for kind in ("instance", "volume", "network-interface")
        ],
        update_default_version=True,
        tags=dict(children.tags),
        opts=pulumi.ResourceOptions(parent=children.parent),
    )
    return aws.eks.NodeGroup(
        name,
        cluster_name=cluster.name,
        node_role_arn=node_role.arn,
        subnet_ids=subnet_ids,
        ami_type=ami_type,
        instance_types=instance_types,
        capacity_type=capacity_type,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=min_size, max_size=max_size, desired_size=desired_size
        ),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
            id=template.id, version=template.latest_version.apply(str)
        ),
        labels=dict(labels),
        taints=[
            aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value, effect=_EKS_TAINT_EFFECTS[t.effect])
            for t in taints
        ],
        tags=dict(group_tags),
        opts=pulumi.ResourceOptions(
            parent=children.parent, depends_on=list(depends_on), ignore_changes=AUTOSCALER_OWNS_SIZE
        ),
    )
