"""The aws stack under mocks, with Pulumi.aws.yaml: the rules a user of EKS relies on, read from the plan."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from infra.clouds.aws.kubeconfig import EXEC_API_VERSION, render_kubeconfig
from infra.clouds.aws.mocks import ACCOUNT_ID, DEPLOYER_ROLE_ARN
from infra.plan import Plan, PlanError, PlannedResource, run_stack
from infra.plan.model import SECRET
from infra.versions import KUBERNETES

STACK = "aws"
CLUSTER_NAME = "liftoff-aws"
CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SUBNET = "aws:ec2/subnet:Subnet"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
COST_TAGS = {"project": "liftoff", "stack": STACK, "managed-by": "pulumi"}
# AWS resources whose API has no tags; every other AWS resource of the stack must carry the cost tags.
UNTAGGABLE = {
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:kms/alias:Alias",
    "aws:autoscaling/tag:Tag",
}
CORE_ADDONS = {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"}
AUTOSCALER_TAG = "k8s.io/cluster-autoscaler"
GRAPH_SCRIPT = Path(__file__).with_name("aws_graph.py")


def plan(overrides: Mapping[str, object] | None = None) -> Plan:
    return run_stack(STACK, overrides)


@pytest.fixture(scope="module")
def default_plan() -> Plan:
    return plan()


ADMIN_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/platform-admins"
VARIANT = {
    "awsNatPerAz": True,
    "awsAvailabilityZones": 3,
    "awsGpuSpot": True,
    "awsEcrKeepLast": 7,
    "awsAdminPrincipalArn": ADMIN_ARN,
    "awsEndpointAccess": "restricted",
    "awsEndpointPublicCidrs": ["198.51.100.0/24"],
}


@pytest.fixture(scope="module")
def variant_plan() -> Plan:
    """One plan with every non-default choice the tests below need (each plan takes seconds)."""
    return plan(VARIANT)


def node_group(p: Plan, name: str) -> dict[str, Any]:
    return p.one(NODE_GROUP, name).inputs


def subnet_ids(p: Plan, kind: str) -> set[str]:
    # Under mocks a resource's id is `<name>-id`.
    return {f"{r.name}-id" for r in p.by_type(SUBNET) if r.name.startswith(f"{kind}-")}


def role_named(p: Plan, name: str) -> PlannedResource:
    return p.one(ROLE, name)


def attached_policies(p: Plan, role_name: str) -> set[str]:
    # Under mocks a role's physical name is `<name>-mock` (infra/clouds/aws/mocks.py).
    return {a.inputs["policyArn"] for a in p.by_type(ATTACHMENT) if a.inputs["role"] == f"{role_name}-mock"}


def policy_documents(p: Plan) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM policy document the stack records: trust policies, inline policies, key policies."""
    for resource in p.resources:
        for key in ("assumeRolePolicy", "policy"):
            raw = resource.inputs.get(key)
            if resource.type.startswith("aws:") and isinstance(raw, str) and raw.lstrip().startswith("{"):
                document = json.loads(raw)
                if "Statement" in document:
                    yield f"{resource.type} {resource.name}.{key}", document


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Kubernetes' rule: same effect (or any), same key (or any with Exists), Exists or equal value."""
    if toleration.get("effect") not in (None, "", taint["effect"]):
        return False
    if toleration.get("key") in (None, "") and toleration.get("operator") == "Exists":
        return True
    if toleration.get("key") != taint["key"]:
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return True
    return toleration.get("value") == taint.get("value")


K8S_TAINT_EFFECTS = {
    "NO_SCHEDULE": "NoSchedule",
    "NO_EXECUTE": "NoExecute",
    "PREFER_NO_SCHEDULE": "PreferNoSchedule",
}


# --- network ---------------------------------------------------------------------------------------------


def test_the_vpc_spans_at_least_two_zones_with_a_public_and_a_private_subnet_in_each(
    default_plan: Plan,
) -> None:
    subnets = default_plan.by_type(SUBNET)
    for kind in ("public", "private"):
        zones = [s.inputs["availabilityZone"] for s in subnets if s.name.startswith(f"{kind}-")]
        assert len(zones) >= 2 and len(set(zones)) == len(zones), (kind, zones)
    assert not [s.name for s in subnets if s.inputs.get("mapPublicIpOnLaunch")]


def test_subnets_carry_the_load_balancer_role_and_cluster_tags(default_plan: Plan) -> None:
    for subnet in default_plan.by_type(SUBNET):
        tags = subnet.inputs["tags"]
        assert tags[f"kubernetes.io/cluster/{CLUSTER_NAME}"] == "shared"
        if subnet.name.startswith("public-"):
            assert tags["kubernetes.io/role/elb"] == "1" and "kubernetes.io/role/internal-elb" not in tags
        else:
            assert tags["kubernetes.io/role/internal-elb"] == "1" and "kubernetes.io/role/elb" not in tags


def test_public_subnets_route_to_the_internet_gateway_and_private_ones_through_nat(
    default_plan: Plan,
) -> None:
    tables = {r.name: r.inputs for r in default_plan.by_type("aws:ec2/routeTable:RouteTable")}
    associations = {
        a.inputs["subnetId"]: a.inputs["routeTableId"]
        for a in default_plan.by_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    }
    for subnet_id, table_id in associations.items():
        (route,) = tables[table_id.removesuffix("-id")]["routes"]
        assert route["cidrBlock"] == "0.0.0.0/0"
        if subnet_id.startswith("public-"):
            assert route["gatewayId"] == "igw-id"
        else:
            assert route["natGatewayId"].startswith("nat-")
    assert subnet_ids(default_plan, "public") | subnet_ids(default_plan, "private") == set(associations)


def test_one_nat_gateway_by_default_and_one_per_zone_when_asked(
    default_plan: Plan, variant_plan: Plan
) -> None:
    nat = "aws:ec2/natGateway:NatGateway"
    assert len(default_plan.by_type(nat)) == 1
    gateways = variant_plan.by_type(nat)
    assert len(gateways) == 3
    assert {g.inputs["subnetId"] for g in gateways} == subnet_ids(variant_plan, "public")
    private_tables = [
        t.inputs
        for t in variant_plan.by_type("aws:ec2/routeTable:RouteTable")
        if t.name.startswith("private-")
    ]
    assert len({t["routes"][0]["natGatewayId"] for t in private_tables}) == 3


# --- control plane ---------------------------------------------------------------------------------------


def test_the_cluster_runs_a_pinned_supported_version_with_api_authentication(default_plan: Plan) -> None:
    cluster = default_plan.one(CLUSTER).inputs
    assert cluster["version"] in KUBERNETES["aws"]
    # Extended support is never billed silently: at its end, EKS upgrades the cluster instead.
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}
    assert cluster["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }


def test_the_deployer_gets_cluster_admin_through_an_access_entry(default_plan: Plan) -> None:
    entry = default_plan.one("aws:eks/accessEntry:AccessEntry").inputs
    # The role behind the caller's assumed-role session, not the session ARN (which EKS would refuse).
    assert entry["principalArn"] == DEPLOYER_ROLE_ARN
    association = default_plan.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation").inputs
    assert association["principalArn"] == DEPLOYER_ROLE_ARN
    assert association["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association["accessScope"] == {"type": "cluster"}


def test_a_configured_admin_principal_replaces_the_deployer(variant_plan: Plan) -> None:
    entry = variant_plan.one("aws:eks/accessEntry:AccessEntry").inputs
    assert entry["principalArn"] == ADMIN_ARN


def test_secrets_are_encrypted_with_a_rotating_kms_key(default_plan: Plan) -> None:
    key = default_plan.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    encryption = default_plan.one(CLUSTER).inputs["encryptionConfig"]
    assert encryption["resources"] == ["secrets"]
    assert encryption["provider"]["keyArn"].endswith(f":key/mock-{key.name}")


def test_every_control_plane_log_is_enabled(default_plan: Plan) -> None:
    logs = set(default_plan.one(CLUSTER).inputs["enabledClusterLogTypes"])
    assert logs == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    # The group EKS writes them to is ours, so it has a retention and destroy removes it.
    group = default_plan.one("aws:cloudwatch/logGroup:LogGroup").inputs
    assert group["name"] == f"/aws/eks/{CLUSTER_NAME}/cluster"
    assert 0 < group["retentionInDays"] <= 365


def test_the_oidc_provider_trusts_the_clusters_issuer_for_sts(default_plan: Plan) -> None:
    provider = default_plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs
    assert provider["url"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]
    assert all(len(t) == 40 and int(t, 16) >= 0 for t in provider["thumbprintLists"])


def test_endpoint_access_is_public_restricted_or_private(default_plan: Plan, variant_plan: Plan) -> None:
    cases = [
        (default_plan, True, ["0.0.0.0/0"]),
        (variant_plan, True, ["198.51.100.0/24"]),
        (plan({"awsEndpointAccess": "private"}), False, None),
    ]
    for planned, public, cidrs in cases:
        vpc_config = planned.one(CLUSTER).inputs["vpcConfig"]
        assert vpc_config["endpointPrivateAccess"] is True
        assert vpc_config["endpointPublicAccess"] is public
        assert vpc_config.get("publicAccessCidrs") == cidrs


def test_the_core_addons_take_eks_default_version_for_the_clusters_minor(default_plan: Plan) -> None:
    version = default_plan.one(CLUSTER).inputs["version"]
    addons = {
        a.inputs["addonName"]: a.inputs["addonVersion"] for a in default_plan.by_type("aws:eks/addon:Addon")
    }
    # The mocks answer aws.eks.get_addon_version with v<minor>-mock-<name>: asked per add-on, for this minor.
    assert addons == {name: f"v{version}-mock-{name}" for name in CORE_ADDONS}


def test_extended_support_is_billed_only_when_the_stack_allows_it() -> None:
    plan = run_stack("aws", {"awsKubernetesVersion": "1.34", "allowExtendedSupport": True})
    assert plan.one(CLUSTER).inputs["upgradePolicy"] == {"supportType": "EXTENDED"}


def test_the_vpc_cni_enforces_the_services_network_policy(default_plan: Plan) -> None:
    addon = default_plan.one("aws:eks/addon:Addon", "vpc-cni").inputs
    assert json.loads(addon["configurationValues"])["enableNetworkPolicy"] == "true"
    assert default_plan.k8s_object("NetworkPolicy", "inference")


def test_the_ebs_csi_controller_gets_its_role_through_pod_identity(default_plan: Plan) -> None:
    addon = default_plan.one("aws:eks/addon:Addon", "aws-ebs-csi-driver").inputs
    (association,) = addon["podIdentityAssociations"]
    assert association["serviceAccount"] == "ebs-csi-controller-sa"
    role = role_named(default_plan, "ebs-csi")
    assert association["roleArn"].endswith(":role/ebs-csi-mock")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert attached_policies(default_plan, "ebs-csi") == {
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    }


# --- node groups -----------------------------------------------------------------------------------------


def test_every_node_group_puts_its_nodes_in_private_subnets(default_plan: Plan) -> None:
    private = subnet_ids(default_plan, "private")
    for group in default_plan.by_type(NODE_GROUP):
        assert set(group.inputs["subnetIds"]) == private, group.name


def test_the_gpu_pool_uses_the_nvidia_ami_and_scales_from_zero(default_plan: Plan) -> None:
    gpu = node_group(default_plan, "gpu")
    assert gpu["amiType"] == "AL2023_x86_64_NVIDIA"
    assert gpu["instanceTypes"] == ["g5.xlarge"]
    assert gpu["scalingConfig"]["minSize"] == 0
    assert gpu["capacityType"] == "ON_DEMAND"


def test_the_gpu_taint_is_tolerated_by_the_inference_pods_and_kept_by_the_system_pods(
    default_plan: Plan,
) -> None:
    gpu = node_group(default_plan, "gpu")
    taints = [{**t, "effect": K8S_TAINT_EFFECTS[t["effect"]]} for t in gpu["taints"]]
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"} in taints
    pod = default_plan.k8s_object("Deployment")["spec"]["template"]["spec"]
    for taint in taints:
        assert any(tolerates(t, taint) for t in pod.get("tolerations", [])), taint
    # The pods land on GPU nodes only: every label they select is one the GPU pool sets.
    assert pod["nodeSelector"].items() <= gpu["labels"].items()
    assert node_group(default_plan, "system").get("taints") in (None, [])
    assert not pod["nodeSelector"].items() <= node_group(default_plan, "system")["labels"].items()


def test_the_gpu_pool_tells_cluster_autoscaler_what_a_node_would_look_like(default_plan: Plan) -> None:
    gpu = node_group(default_plan, "gpu")
    tags = gpu["tags"]
    assert tags[f"{AUTOSCALER_TAG}/enabled"] == "true"
    assert tags[f"{AUTOSCALER_TAG}/{CLUSTER_NAME}"] == "owned"
    template = f"{AUTOSCALER_TAG}/node-template"
    for label, value in gpu["labels"].items():
        assert tags[f"{template}/label/{label}"] == value
    for taint in gpu["taints"]:
        assert (
            tags[f"{template}/taint/{taint['key']}"]
            == f"{taint['value']}:{K8S_TAINT_EFFECTS[taint['effect']]}"
        )
    assert tags[f"{template}/resources/nvidia.com/gpu"] == "1"


def test_the_node_template_tags_are_also_on_the_gpu_auto_scaling_group(default_plan: Plan) -> None:
    # EKS does not copy node group tags to the group cluster-autoscaler reads them from.
    on_group = {
        t.inputs["tag"]["key"]: t.inputs["tag"]["value"]
        for t in default_plan.by_type("aws:autoscaling/tag:Tag")
        if t.inputs["autoscalingGroupName"] == "eks-gpu-mock-asg"
    }
    template = {k: v for k, v in node_group(default_plan, "gpu")["tags"].items() if "/node-template/" in k}
    assert template and on_group == template


def test_gpu_nodes_have_a_disk_large_enough_for_cuda_images_and_require_imdsv2(default_plan: Plan) -> None:
    templates = {r.name: r.inputs for r in default_plan.by_type("aws:ec2/launchTemplate:LaunchTemplate")}
    template = templates[node_group(default_plan, "gpu")["launchTemplate"]["id"].removesuffix("-id")]
    (root,) = template["blockDeviceMappings"]
    assert root["ebs"]["volumeSize"] >= 100
    assert root["ebs"]["encrypted"] == "true"
    assert template["metadataOptions"]["httpTokens"] == "required"


def test_no_pod_on_any_node_can_reach_the_instance_metadata_credentials(default_plan: Plan) -> None:
    """IMDSv2 only, and a PUT response hop limit of 1, so a token request from a pod (one hop
    more than the node) gets no answer and no pod can take the node role's credentials."""
    templates = {r.name: r.inputs for r in default_plan.by_type("aws:ec2/launchTemplate:LaunchTemplate")}
    groups = default_plan.by_type(NODE_GROUP)
    assert {g.name for g in groups} == {"system", "gpu"}
    for group in groups:
        template = templates[group.inputs["launchTemplate"]["id"].removesuffix("-id")]
        options = template["metadataOptions"]
        assert options["httpTokens"] == "required", group.name
        assert options["httpPutResponseHopLimit"] == 1, group.name
        assert options["httpEndpoint"] == "enabled", group.name


def test_the_gpu_pool_runs_on_spot_when_asked(variant_plan: Plan) -> None:
    assert node_group(variant_plan, "gpu")["capacityType"] == "SPOT"


def test_the_system_pool_is_small_on_demand_and_labelled(default_plan: Plan) -> None:
    system = node_group(default_plan, "system")
    assert system["capacityType"] == "ON_DEMAND"
    assert system["amiType"] == "AL2023_x86_64_STANDARD"
    assert system["labels"] == {"liftoff.dev/pool": "system"}
    assert system["scalingConfig"]["minSize"] >= 1


def test_without_gpus_there_is_no_gpu_pool_and_no_device_plugin() -> None:
    cpu_only = plan({"gpu": 0, "awsGpuPool": False, "imageVariant": "cpu"})
    assert [g.name for g in cpu_only.by_type(NODE_GROUP)] == ["system"]
    assert "nvidia-device-plugin" not in {r.inputs["chart"] for r in cpu_only.helm_releases()}


# --- IAM ---------------------------------------------------------------------------------------------------


def test_no_policy_grants_every_action_on_every_resource(default_plan: Plan) -> None:
    documents = list(policy_documents(default_plan))
    assert len(documents) >= 5  # trust policies of four roles, the autoscaler's and the KMS grant
    for where, document in documents:
        for statement in as_list(document["Statement"]):
            if statement.get("Effect") != "Allow":
                continue
            actions = as_list(statement.get("Action", []))
            resources = as_list(statement.get("Resource", []))
            assert not ("*" in actions and "*" in resources), where
            assert "NotAction" not in statement and "NotResource" not in statement, where


def test_roles_hold_only_the_managed_policies_their_job_needs(default_plan: Plan) -> None:
    managed = "arn:aws:iam::aws:policy"
    assert attached_policies(default_plan, "eks-cluster") == {f"{managed}/AmazonEKSClusterPolicy"}
    assert attached_policies(default_plan, "eks-node") == {
        f"{managed}/AmazonEKSWorkerNodePolicy",
        f"{managed}/AmazonEKS_CNI_Policy",
        f"{managed}/AmazonEC2ContainerRegistryReadOnly",
    }
    assert attached_policies(default_plan, "cluster-autoscaler") == set()
    every = {a.inputs["policyArn"] for a in default_plan.by_type(ATTACHMENT)}
    assert not {p for p in every if p.endswith(("AdministratorAccess", "PowerUserAccess", "IAMFullAccess"))}


def test_cluster_autoscaler_may_only_resize_this_clusters_groups(default_plan: Plan) -> None:
    inline = [
        r
        for r in default_plan.by_type("aws:iam/rolePolicy:RolePolicy")
        if r.inputs["role"] == "cluster-autoscaler-mock"
    ]
    (policy,) = inline
    statements = json.loads(policy.inputs["policy"])["Statement"]
    writes = [s for s in statements if "autoscaling:SetDesiredCapacity" in as_list(s["Action"])]
    (write,) = writes
    assert "autoscaling:TerminateInstanceInAutoScalingGroup" in write["Action"]
    assert write["Condition"]["StringEquals"] == {f"aws:ResourceTag/{AUTOSCALER_TAG}/{CLUSTER_NAME}": "owned"}
    for statement in statements:
        if statement["Resource"] == "*" and statement is not write:
            assert all(":Describe" in a or ":Get" in a for a in as_list(statement["Action"])), statement


def test_cluster_autoscaler_gets_its_role_through_pod_identity_on_its_service_account(
    default_plan: Plan,
) -> None:
    association = default_plan.one("aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs
    release = default_plan.helm_release("cluster-autoscaler").inputs
    service_account = release["values"]["rbac"]["serviceAccount"]
    assert (association["namespace"], association["serviceAccount"]) == (
        release["namespace"],
        service_account["name"],
    )
    assert association["roleArn"].endswith(":role/cluster-autoscaler-mock")
    trust = json.loads(role_named(default_plan, "cluster-autoscaler").inputs["assumeRolePolicy"])[
        "Statement"
    ][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert set(trust["Action"]) == {"sts:AssumeRole", "sts:TagSession"}


# --- registry ----------------------------------------------------------------------------------------------


def test_the_repository_scans_on_push_keeps_tags_immutable_and_is_encrypted(default_plan: Plan) -> None:
    repository = default_plan.one("aws:ecr/repository:Repository").inputs
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["encryptionConfigurations"][0]["encryptionType"] in ("KMS", "AES256")
    assert repository["forceDelete"] is True  # destroy succeeds with images still in it


def test_the_lifecycle_policy_keeps_the_configured_number_of_images(variant_plan: Plan) -> None:
    policy = variant_plan.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs
    (rule,) = json.loads(policy["policy"])["rules"]
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 7}
    assert rule["action"] == {"type": "expire"}


def test_the_image_is_pushed_to_the_repository_with_secret_credentials(default_plan: Plan) -> None:
    repository_url = f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/liftoff-{STACK}"
    assert default_plan.outputs["registry"] == repository_url
    image = default_plan.one("docker-build:index:Image").inputs
    assert image["push"] is True
    assert all(tag.startswith(f"{repository_url}:") for tag in image["tags"])
    # The ECR token never shows in a plan or a state file in clear.
    registries = image["registries"]
    assert registries == SECRET or (len(registries) == 1 and registries[0]["password"] == SECRET)


# --- Kubernetes access and add-ons ---------------------------------------------------------------------


def test_the_kubeconfig_authenticates_with_aws_eks_get_token() -> None:
    config = json.loads(render_kubeconfig("c1", "https://example.invalid", "Q0E=", "eu-west-1"))
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["apiVersion"] == EXEC_API_VERSION == "client.authentication.k8s.io/v1beta1"
    assert exec_["command"] == "aws"
    args = exec_["args"]
    assert args[:2] == ["eks", "get-token"]
    assert args[args.index("--cluster-name") + 1] == "c1" and args[args.index("--region") + 1] == "eu-west-1"
    assert config["clusters"][0]["cluster"]["server"] == "https://example.invalid"


def test_the_kubeconfig_is_a_secret_output(default_plan: Plan) -> None:
    assert default_plan.outputs["kubeconfig"] == SECRET


def test_every_kubernetes_object_and_release_uses_the_clusters_provider(default_plan: Plan) -> None:
    (provider,) = default_plan.by_type("pulumi:providers:kubernetes")
    for resource in default_plan.kubernetes_resources() + default_plan.helm_releases():
        assert resource.provider_urn == provider.urn, resource.name


def test_cluster_autoscaler_is_pinned_and_configured_for_this_cluster(default_plan: Plan) -> None:
    release = default_plan.helm_release("cluster-autoscaler").inputs
    assert release["repositoryOpts"]["repo"] == "https://kubernetes.github.io/autoscaler"
    assert release["version"].count(".") == 2 and release["version"][0].isdigit()
    values = release["values"]
    assert values["autoDiscovery"]["clusterName"] == CLUSTER_NAME
    assert values["awsRegion"] == "us-east-1"
    version = default_plan.one(CLUSTER).inputs["version"]
    assert values["image"]["tag"].startswith(f"v{version}.")
    assert values["nodeSelector"] == node_group(default_plan, "system")["labels"]


def test_eks_gets_the_device_plugin_and_metrics_server_it_lacks(default_plan: Plan) -> None:
    charts = {r.inputs["chart"] for r in default_plan.helm_releases()}
    assert {"nvidia-device-plugin", "metrics-server", "cluster-autoscaler"} <= charts


def test_the_device_plugin_runs_on_gpu_nodes_only(default_plan: Plan) -> None:
    values = default_plan.helm_release("nvidia-device-plugin").inputs["values"]
    gpu = node_group(default_plan, "gpu")
    assert values["nodeSelector"] and values["nodeSelector"].items() <= gpu["labels"].items()
    assert not values["nodeSelector"].items() <= node_group(default_plan, "system")["labels"].items()
    for taint in gpu["taints"]:
        taint = {**taint, "effect": K8S_TAINT_EFFECTS[taint["effect"]]}
        assert any(tolerates(t, taint) for t in values["tolerations"]), taint


def test_the_ingress_controller_is_exposed_by_an_internet_facing_nlb(default_plan: Plan) -> None:
    annotations = default_plan.helm_release("traefik").inputs["values"]["service"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    # Internet-facing is the default; an `internal` annotation would hide it in the private subnets.
    assert "service.beta.kubernetes.io/aws-load-balancer-internal" not in annotations
    assert "service.beta.kubernetes.io/aws-load-balancer-scheme" not in annotations


def test_every_aws_resource_carries_the_cost_tags(default_plan: Plan) -> None:
    aws_resources = [r for r in default_plan.resources if r.type.startswith("aws:") and r.custom]
    assert len(aws_resources) > 30
    for resource in aws_resources:
        if resource.type in UNTAGGABLE:
            continue
        assert COST_TAGS.items() <= (resource.inputs.get("tags") or {}).items(), (
            resource.type,
            resource.name,
        )


def test_every_aws_resource_belongs_to_the_platform_component_and_its_region(default_plan: Plan) -> None:
    (provider,) = default_plan.by_type("pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1"
    assert default_plan.unanswered_calls == []  # every AWS data source the program reads is mocked
    for resource in default_plan.resources:
        if resource.type.startswith("aws:"):
            assert resource.parent_type == "liftoff:aws:Platform", resource.name
            assert resource.provider_urn == provider.urn, resource.name


# --- destroy order -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """URN -> node with dependencies and ignore_changes (tests/infra/clouds/aws_graph.py, own process)."""
    out = tmp_path_factory.mktemp("aws-graph") / "graph.json"
    command = [sys.executable, str(GRAPH_SCRIPT), "--stack", STACK, "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=240)
    return {node["urn"]: node for node in json.loads(out.read_text())}


def reaches(nodes: dict[str, dict[str, Any]], start: str) -> set[str]:
    """Everything `start` waits for on create, and outlives it on destroy: dependencies and parents."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = nodes.get(todo.pop())
        if node is None:
            continue
        for urn in [*node["dependencies"], node["parent"]]:
            if urn and urn not in seen:
                seen.add(urn)
                todo.append(urn)
    return seen


def test_kubernetes_objects_are_destroyed_before_the_node_groups_and_the_network(
    graph: dict[str, dict[str, Any]],
) -> None:
    nodes = graph
    by_type = lambda t: [urn for urn, n in nodes.items() if n["type"] == t]  # noqa: E731
    node_groups = set(by_type(NODE_GROUP))
    vpc = set(by_type("aws:ec2/vpc:Vpc"))
    nat = set(by_type("aws:ec2/natGateway:NatGateway"))
    assert len(node_groups) == 2
    kubernetes = [
        urn
        for urn, n in nodes.items()
        if n["type"].startswith("kubernetes:") and n["custom"] and "providers" not in n["type"]
    ]
    assert any(
        nodes[u]["type"] == "kubernetes:helm.sh/v3:Release" and nodes[u]["name"] == "traefik"
        for u in kubernetes
    )
    for urn in kubernetes:
        assert node_groups <= reaches(nodes, urn), nodes[urn]["name"]
    for urn in node_groups:
        waits_for = reaches(nodes, urn)
        assert vpc <= waits_for and nat <= waits_for, nodes[urn]["name"]


def test_cluster_autoscaler_owns_the_node_groups_size_after_creation(
    graph: dict[str, dict[str, Any]],
) -> None:
    for node in graph.values():
        if node["type"] == NODE_GROUP:
            assert "scalingConfig.desiredSize" in node["ignore_changes"], node["name"]


# --- bad config --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"awsGpuInstanceTypes": ["m5.xlarge"]}, "liftoff:awsGpuInstanceTypes"),
        ({"awsGpuMinNodes": 3, "awsGpuMaxNodes": 1}, "liftoff:awsGpuMinNodes"),
        ({"awsRegion": "europe"}, "liftoff:awsRegion"),
    ],
)
def test_bad_stack_config_fails_the_plan_naming_the_key(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(PlanError) as caught:
        plan(overrides)
    assert key in str(caught.value)


def test_gpu_nodes_carry_the_accelerator_label_cluster_autoscaler_waits_on(default_plan: Plan) -> None:
    """Without it, cluster-autoscaler starts a second GPU node while the first still initialises its GPU."""
    gpu = node_group(default_plan, "gpu")
    assert gpu["labels"]["k8s.amazonaws.com/accelerator"] == "nvidia-a10g"  # g5.xlarge, the stack's type
    template = "k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator"
    assert gpu["tags"][template] == "nvidia-a10g"
