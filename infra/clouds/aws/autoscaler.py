"""cluster-autoscaler: the pinned chart, configured for this cluster, with its AWS role via Pod Identity.

It is the only Kubernetes add-on this module installs: only EKS needs it (GKE and AKS scale pools
themselves). The shared add-ons (ingress controller, device plugin, metrics-server) stay in the workload.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.clouds.aws import iam
from infra.clouds.aws.node_pools import SYSTEM_LABELS
from infra.clouds.children import Children

CHART = "cluster-autoscaler"
CHART_REPOSITORY = "https://kubernetes.github.io/autoscaler"
CHART_VERSION = "9.59.0"
"""Tag cluster-autoscaler-chart-9.59.0 of github.com/kubernetes/autoscaler (2026-07-21, the newest chart in the
mirror of 2026-08-22, read 2026-12-07); the image tag comes from infra/versions.py, per cluster minor."""
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"


def autoscaler_values(cluster_name: str, region: str, image_tag: str) -> dict[str, object]:
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        # Finds every group tagged k8s.io/cluster-autoscaler/enabled and .../<cluster> (EKS tags its groups).
        "autoDiscovery": {"clusterName": cluster_name},
        # The chart's default image follows its own release; the autoscaler must match the cluster's minor.
        "image": {"tag": image_tag},
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
        # On the system pool: the autoscaler must not run on a node it may remove.
        "nodeSelector": dict(SYSTEM_LABELS),
        "extraArgs": {
            # Scale the cheapest fitting group; spread similar groups across zones.
            "expander": "least-waste",
            "balance-similar-node-groups": True,
            # DaemonSet pods (device plugin, CNI) must not keep an idle GPU node alive.
            "skip-nodes-with-system-pods": False,
            "scale-down-unneeded-time": "10m",
        },
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
    }


def create_cluster_autoscaler(
    *,
    cluster: aws.eks.Cluster,
    cluster_name: str,
    region: str,
    account_id: pulumi.Output[str],
    image_tag: str,
    k8s_provider: k8s.Provider,
    children: Children,
    depends_on: Sequence[pulumi.Resource],
) -> k8s.helm.v3.Release:
    role = iam.role(
        "cluster-autoscaler",
        service=iam.POD_IDENTITY_PRINCIPAL,
        managed_policies=(),
        description=f"cluster-autoscaler of {cluster_name}: scales this cluster's node groups",
        children=children,
    )
    policy = aws.iam.RolePolicy(
        "cluster-autoscaler",
        role=role.name,
        policy=account_id.apply(lambda account: iam.cluster_autoscaler_policy(cluster_name, region, account)),
        opts=pulumi.ResourceOptions(parent=children.parent),
    )
    association = aws.eks.PodIdentityAssociation(
        "cluster-autoscaler",
        cluster_name=cluster.name,
        namespace=NAMESPACE,
        service_account=SERVICE_ACCOUNT,
        role_arn=role.arn,
        tags=dict(children.tags),
        opts=pulumi.ResourceOptions(parent=children.parent, depends_on=list(depends_on)),
    )
    return k8s.helm.v3.Release(
        "cluster-autoscaler",
        name="cluster-autoscaler",
        chart=CHART,
        version=CHART_VERSION,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
        namespace=NAMESPACE,
        values=autoscaler_values(cluster_name, region, image_tag),
        opts=pulumi.ResourceOptions(
            parent=children.parent, provider=k8s_provider, depends_on=[policy, association, *depends_on]
        ),
    )
