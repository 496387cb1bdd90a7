"""Every cloud resource that can carry tags or labels carries the project's cost tags.

`project` and `stack` let a bill be split by project and by stack; the cloud modules add them to everything.
"""

from __future__ import annotations

from collections.abc import Iterator

from liftoff_policies.rule import Props, ResourceRule, dig

COST_TAGS = ("project", "stack")

# Where each taggable resource type the program uses keeps its tags or labels. tests/policies checks this
# table against the provider SDKs, so a new taggable type in a stack cannot slip past it.
TAG_PATHS: dict[str, tuple[str, ...]] = {
    **{
        token: ("tags",)
        for token in (
            "aws:ec2/eip:Eip",
            "aws:ec2/internetGateway:InternetGateway",
            "aws:ec2/launchTemplate:LaunchTemplate",
            "aws:ec2/natGateway:NatGateway",
            "aws:ec2/routeTable:RouteTable",
            "aws:ec2/securityGroup:SecurityGroup",
            "aws:ec2/subnet:Subnet",
            "aws:ec2/vpc:Vpc",
            "aws:ecr/repository:Repository",
            "aws:eks/accessEntry:AccessEntry",
            "aws:eks/addon:Addon",
            "aws:eks/cluster:Cluster",
            "aws:eks/nodeGroup:NodeGroup",
            "aws:eks/podIdentityAssociation:PodIdentityAssociation",
            "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
            "aws:iam/policy:Policy",
            "aws:iam/role:Role",
            "aws:kms/key:Key",
            "aws:cloudwatch/logGroup:LogGroup",
        )
    },
    "gcp:artifactregistry/repository:Repository": ("labels",),
    "gcp:container/cluster:Cluster": ("resourceLabels",),
    "gcp:container/nodePool:NodePool": ("nodeConfig", "resourceLabels"),
}


def tag_path(resource_type: str) -> tuple[str, ...] | None:
    if resource_type in TAG_PATHS:
        return TAG_PATHS[resource_type]
    # Nearly every Azure resource takes `tags`; the ones that cannot are sub-resources and assignments.
    if resource_type.startswith("azure-native:") and resource_type not in AZURE_UNTAGGABLE:
        return ("tags",)
    return None


AZURE_UNTAGGABLE = {
    "azure-native:authorization:RoleAssignment",
    "azure-native:network:Subnet",
    # Parts of a storage account or an identity, which carry the tags themselves.
    "azure-native:storage:BlobContainer",
    "azure-native:storage:Blob",
    "azure-native:managedidentity:FederatedIdentityCredential",
}


def check(resource_type: str, props: Props) -> Iterator[str]:
    path = tag_path(resource_type)
    if path is None:
        return
    tags = dig(props, *path) or {}
    missing = [key for key in COST_TAGS if not tags.get(key)]
    if missing:
        where = ".".join(path)
        yield (
            f"The resource has no {', '.join(missing)} in `{where}`: add the project's cost tags "
            f"({', '.join(COST_TAGS)}) so its cost can be told apart on the bill."
        )


RULE = ResourceRule(
    name="cost-tags",
    description="Every cloud resource that can carry tags or labels carries `project` and `stack`.",
    check=check,
)
