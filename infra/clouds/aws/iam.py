"""IAM: one role per job, each with only the managed policies or statements that job needs.

Controllers in the cluster get their roles through EKS Pod Identity (a trust in `pods.eks.amazonaws.com`
bound to one service account by a PodIdentityAssociation), so nodes hold no controller permissions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from infra.clouds.children import Children

MANAGED = "arn:aws:iam::aws:policy"
CLUSTER_POLICIES = (f"{MANAGED}/AmazonEKSClusterPolicy",)
NODE_POLICIES = (
    f"{MANAGED}/AmazonEKSWorkerNodePolicy",
    f"{MANAGED}/AmazonEKS_CNI_Policy",
    # Pull only: ReadOnly would also let a node list and describe every repository in the account.
    f"{MANAGED}/AmazonEC2ContainerRegistryPullOnly",
)
EBS_CSI_POLICIES = (f"{MANAGED}/service-role/AmazonEBSCSIDriverPolicy",)
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"


def assume_role_policy(service: str, actions: Sequence[str] = ("sts:AssumeRole",)) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)}],
        }
    )


def role(
    name: str,
    *,
    service: str,
    managed_policies: Sequence[str],
    description: str,
    children: Children,
) -> aws.iam.Role:
    """A role a service assumes, with AWS-managed policies attached (each attachment is its own resource so
    the offline plan lists exactly what was granted)."""
    # Pod Identity also tags the session (namespace, service account), which needs sts:TagSession.
    actions = (
        ("sts:AssumeRole", "sts:TagSession") if service == POD_IDENTITY_PRINCIPAL else ("sts:AssumeRole",)
    )
    created = aws.iam.Role(
        name,
        assume_role_policy=assume_role_policy(service, actions),
        description=description,
        tags=dict(children.tags),
        opts=pulumi.ResourceOptions(parent=children.parent),
    )
    for policy_arn in managed_policies:
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy_arn.rsplit('/', 1)[-1]}",
            role=created.name,
            policy_arn=policy_arn,
            opts=pulumi.ResourceOptions(parent=children.parent),
        )
    return created


def cluster_autoscaler_policy(cluster_name: str, region: str, account_id: str) -> str:
    """What cluster-autoscaler's AWS provider documents it needs, and no more.

    Describe calls cannot be scoped by resource in IAM, so they stay on "*"; the two calls that change
    capacity only work on Auto Scaling groups tagged as owned by this cluster (EKS puts that tag on every
    managed node group's group), and reading node groups is limited to this cluster's.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DiscoverNodeGroups",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "ReadThisClustersNodeGroups",
                    "Effect": "Allow",
                    "Action": ["eks:DescribeNodegroup"],
                    "Resource": f"arn:aws:eks:{region}:{account_id}:nodegroup/{cluster_name}/*/*",
                },
                {
                    "Sid": "ScaleThisClustersGroupsOnly",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:SetDesiredCapacity",
                        "autoscaling:TerminateInstanceInAutoScalingGroup",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
                    },
                },
            ],
        }
    )


def kms_use_policy(key_arn: str) -> str:
    """What EKS needs on the secrets key, through the cluster role: encrypt, decrypt, see its grants."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EncryptClusterSecrets",
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                    "Resource": key_arn,
                }
            ],
        }
    )
