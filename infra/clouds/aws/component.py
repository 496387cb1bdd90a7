"""The `aws` platform: EKS with a system pool and a GPU pool that scales from zero, ECR, in its own VPC.

One ComponentResource, `liftoff:aws:Platform`, owns every AWS resource; the files beside this one each build
one part of it (network, cluster, node_pools, iam, registry, kubeconfig, autoscaler) as its children.

Destroy order. Every Kubernetes object of the workload is created with this platform's provider and
`depends_on` `Platform.depends_on` (the node groups, the add-ons, cluster-autoscaler); the node groups
depend on the private subnets' NAT routes, and the cluster on the subnets. Pulumi deletes dependents first, so
`pulumi destroy` deletes the ingress controller's Service before any node group or subnet; the Service
carries the cloud controller's load-balancer finalizer, so its deletion completes only once the NLB (and its
network interfaces in the public subnets) is gone, and only then do the subnets, NAT and VPC go.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.clouds.aws import iam
from infra.clouds.aws.autoscaler import create_cluster_autoscaler
from infra.clouds.aws.cluster import (
    EBS_CSI_SERVICE_ACCOUNT,
    WORKLOAD_ADDONS,
    create_addons,
    create_control_plane,
)
from infra.clouds.aws.kubeconfig import cluster_kubeconfig
from infra.clouds.aws.network import create_network
from infra.clouds.aws.node_pools import GPU_LABELS, GPU_TAINT, create_node_pools
from infra.clouds.aws.registry import create_registry
from infra.clouds.aws.settings import AwsSettings
from infra.clouds.aws.tags import cost_tags
from infra.clouds.aws.weights import create_weights
from infra.clouds.children import Children
from infra.clouds.platform import GpuScheduling, Platform, Registry
from infra.settings import Settings
from infra.weights.stack import stack_weights

# The ingress controller's Service becomes an internet-facing Network Load Balancer. This module does not
# install the AWS Load Balancer Controller, so the annotation is the one EKS's built-in cloud controller
# acts on: `nlb` (the controller's own `external` type would leave the Service pending without it). The
# cloud controller puts the NLB in the subnets tagged kubernetes.io/role/elb, i.e. the public ones.
NLB_TYPE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-type"
NLB_TAGS_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"


@dataclass(frozen=True)
class AwsPlatformArgs:
    aws: AwsSettings
    """The `liftoff:aws*` settings."""
    stack: str
    """Stack name: names the cluster (unless configured) and fills the `stack` cost tag."""


class AwsPlatform(pulumi.ComponentResource):
    """VPC, EKS, node groups, IAM, ECR and cluster-autoscaler for one stack."""

    cluster_name: str
    cluster: aws.eks.Cluster
    k8s_provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    registry: Registry
    node_groups: list[aws.eks.NodeGroup]
    ready: list[pulumi.Resource]
    """What Kubernetes objects must wait for, and what must outlive them on destroy."""

    def __init__(
        self,
        name: str,
        args: AwsPlatformArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`provider` is the AWS provider for the stack's region; every child inherits it from here."""
        super().__init__(
            "liftoff:aws:Platform",
            name,
            None,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers={"aws": provider})),
        )
        settings = args.aws
        self.cluster_name = settings.cluster_name or f"liftoff-{args.stack}"
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=provider)

        children = Children(parent=self, tags=cost_tags(args.stack))
        network = create_network(
            settings, cluster_name=self.cluster_name, provider=provider, children=children
        )
        control = create_control_plane(
            settings,
            cluster_name=self.cluster_name,
            network=network,
            admin_principal_arn=_deployer_arn(settings, invoke),
            children=children,
        )
        node_role = iam.role(
            "eks-node",
            service="ec2.amazonaws.com",
            managed_policies=iam.NODE_POLICIES,
            description=f"Nodes of EKS cluster {self.cluster_name}",
            children=children,
        )
        self.cluster = control.cluster
        pools = create_node_pools(
            settings,
            cluster=control.cluster,
            cluster_name=self.cluster_name,
            network=network,
            node_role=node_role,
            children=children,
            depends_on=[*control.node_addons, *network.private_routes],
        )
        ebs_csi_role = iam.role(
            "ebs-csi",
            service=iam.POD_IDENTITY_PRINCIPAL,
            managed_policies=iam.EBS_CSI_POLICIES,
            description=f"EBS CSI controller of {self.cluster_name}: creates and attaches volumes",
            children=children,
        )
        workload_addons = create_addons(
            WORKLOAD_ADDONS,
            settings,
            cluster=control.cluster,
            children=children,
            depends_on=[pools.system],
            pod_identities={"aws-ebs-csi-driver": (EBS_CSI_SERVICE_ACCOUNT, ebs_csi_role)},
        )
        repository, self.registry = create_registry(
            settings, repository_name=f"liftoff-{args.stack}", provider=provider, children=children
        )

        self.kubeconfig = cluster_kubeconfig(control.cluster, settings.region)
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self)
        )
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        autoscaler = create_cluster_autoscaler(
            cluster=control.cluster,
            cluster_name=self.cluster_name,
            region=settings.region,
            account_id=account_id,
            image_tag=settings.autoscaler_image_tag,
            k8s_provider=self.k8s_provider,
            children=children,
            depends_on=[*pools.all, *workload_addons, control.admin_access],
        )
        self.node_groups = pools.all
        self.ready = [*pools.all, *control.node_addons, *workload_addons, control.admin_access, autoscaler]
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "clusterEndpoint": control.cluster.endpoint,
                "oidcProviderArn": control.oidc_provider.arn,
                "repositoryUrl": repository.repository_url,
                "vpcId": network.vpc.id,
                "kubeconfig": self.kubeconfig,
            }
        )


def _deployer_arn(settings: AwsSettings, invoke: pulumi.InvokeOutputOptions) -> pulumi.Input[str]:
    """The configured admin, else the IAM role or user behind the credentials running `pulumi up` (an
    assumed-role session ARN is not a valid access entry principal; its issuer role is)."""
    if settings.admin_principal_arn:
        return settings.admin_principal_arn
    caller = aws.get_caller_identity_output(opts=invoke)
    return aws.iam.get_session_context_output(arn=caller.arn, opts=invoke).issuer_arn


def create_platform(settings: Settings) -> Platform:
    aws_settings = settings.cloud_settings_as(AwsSettings)
    stack = pulumi.get_stack()
    # An explicit provider: the region comes from the stack's settings, never from the shell's environment.
    provider = aws.Provider("aws", region=aws_settings.region)
    component = AwsPlatform("aws", AwsPlatformArgs(aws=aws_settings, stack=stack), provider)
    gpu = (
        GpuScheduling(node_selector=dict(GPU_LABELS), tolerations=(GPU_TAINT,), count=settings.gpu)
        if settings.gpu > 0 and aws_settings.gpu_pool is not None
        else None
    )
    tags = cost_tags(stack)
    location = stack_weights(settings)
    weights = (
        create_weights(
            "weights",
            settings,
            location,
            cluster=component.cluster,
            region=aws_settings.region,
            children=Children(parent=component, tags=tags),
        )
        if location is not None
        else None
    )
    return Platform(
        name="aws",
        cluster_name=component.cluster_name,
        k8s_provider=component.k8s_provider,
        kubeconfig=component.kubeconfig,
        registry=component.registry,
        gpu=gpu,
        install_device_plugin=gpu is not None,
        install_metrics_server=True,  # EKS ships without metrics-server; the CPU HPA needs one
        ingress_annotations={
            NLB_TYPE_ANNOTATION: "nlb",
            NLB_TAGS_ANNOTATION: ",".join(f"{key}={value}" for key, value in tags.items()),
        },
        image_platform="linux/amd64",
        depends_on=component.ready,
        weights=weights,
    )
