"""Each policy passes every stack's offline plan, and fails a deliberately broken copy with the right message."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from liftoff_policies import RULES, cost_tags, policies
from liftoff_policies.rule import ResourceRule
from pulumi_policy import EnforcementLevel

from infra.plan import Plan, PlannedResource, run_stack
from tests.policies.plans import STACKS, broken, violations


@pytest.fixture(scope="module", params=STACKS)
def plan(request: pytest.FixtureRequest) -> Plan:
    return run_stack(request.param)


def test_every_stack_passes_every_policy(plan: Plan) -> None:
    assert violations(plan) == []


def test_the_pack_holds_every_rule_as_a_mandatory_policy() -> None:
    pack = policies()
    assert [p.name for p in pack] == [r.name for r in RULES]
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in pack)


def gpu_pool(plan: Plan) -> PlannedResource:
    types = {
        "aws": "aws:eks/nodeGroup:NodeGroup",
        "gcp": "gcp:container/nodePool:NodePool",
        "azure": "azure-native:containerservice:AgentPool",
    }
    pools = [r for r in plan.by_type(types[plan.stack]) if "gpu" in r.name]
    assert len(pools) == 1, [r.name for r in plan.by_type(types[plan.stack])]
    return pools[0]


def first(
    type_: str, where: Callable[[PlannedResource], bool] = lambda r: True
) -> Callable[[Plan], PlannedResource]:
    def pick(plan: Plan) -> PlannedResource:
        return next(r for r in plan.by_type(type_) if where(r))

    return pick


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def mutate(inputs: dict[str, Any]) -> None:
        node = inputs
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value

    return mutate


DELETE = object()


def _containers(mutate: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(inputs: dict[str, Any]) -> None:
        for container in inputs["spec"]["template"]["spec"]["containers"]:
            mutate(container)

    return apply


@dataclass(frozen=True)
class Breakage:
    stack: str
    pick: Callable[[Plan], PlannedResource]
    mutate: Callable[[dict[str, Any]], None]
    rule: str
    message: str


DEPLOYMENT = first("kubernetes:apps/v1:Deployment")
BREAKAGES = {
    "eks-gpu-untainted": Breakage("aws", gpu_pool, _set("taints", []), "gpu-pools", "NO_SCHEDULE taint"),
    "eks-gpu-no-autoscaler-tags": Breakage(
        "aws",
        gpu_pool,
        lambda inputs: inputs.update(
            tags={k: v for k, v in inputs["tags"].items() if "cluster-autoscaler" not in k}
        ),
        "gpu-pools",
        "cluster-autoscaler",
    ),
    "gke-gpu-not-autoscaled": Breakage(
        "gcp", gpu_pool, _set("autoscaling", DELETE), "gpu-pools", "not autoscaled"
    ),
    "aks-gpu-untainted": Breakage("azure", gpu_pool, _set("nodeTaints", []), "gpu-pools", "node taint"),
    "aks-gpu-fixed-size": Breakage(
        "azure", gpu_pool, _set("enableAutoScaling", False), "gpu-pools", "autoscaled"
    ),
    "ecr-no-scan": Breakage(
        "aws",
        first("aws:ecr/repository:Repository"),
        _set("imageScanningConfiguration.scanOnPush", False),
        "registries",
        "scan on push",
    ),
    "acr-admin-user": Breakage(
        "azure",
        first("azure-native:containerregistry:Registry"),
        _set("adminUserEnabled", True),
        "registries",
        "admin user",
    ),
    "artifact-registry-public": Breakage(
        "gcp",
        first("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"),
        _set("member", "allUsers"),
        "registries",
        "allUsers",
    ),
    "gke-public-nodes": Breakage(
        "gcp",
        first("gcp:container/cluster:Cluster"),
        _set("privateClusterConfig.enablePrivateNodes", False),
        "clusters",
        "public IPs",
    ),
    "gke-no-network-policy": Breakage(
        "gcp",
        first("gcp:container/cluster:Cluster"),
        _set("datapathProvider", "LEGACY_DATAPATH"),
        "clusters",
        "NetworkPolicy",
    ),
    "aks-no-network-policy": Breakage(
        "azure",
        first("azure-native:containerservice:ManagedCluster"),
        _set("networkProfile.networkPolicy", DELETE),
        "clusters",
        "NetworkPolicy",
    ),
    "eks-no-network-policy": Breakage(
        "aws",
        first("aws:eks/addon:Addon", lambda r: r.inputs.get("addonName") == "vpc-cni"),
        _set("configurationValues", DELETE),
        "eks-network-policy",
        "NetworkPolicy",
    ),
    "eks-nodes-in-public-subnet": Breakage(
        "aws",
        lambda plan: next(
            s
            for s in plan.by_type("aws:ec2/subnet:Subnet")
            if f"{s.name}-id" in plan.by_type("aws:eks/nodeGroup:NodeGroup")[0].inputs.get("subnetIds", [])
        ),
        _set("mapPublicIpOnLaunch", True),
        "eks-network-policy",
        "public IPs",
    ),
    "iam-star-on-star": Breakage(
        "aws",
        first("aws:iam/rolePolicy:RolePolicy"),
        _set(
            "policy",
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}',
        ),
        "no-grant",
        "every action on every resource",
    ),
    "gcp-owner-grant": Breakage(
        "gcp",
        first("gcp:projects/iAMMember:IAMMember"),
        _set("role", "roles/owner"),
        "no-grant",
        "roles/owner",
    ),
    "azure-owner-assignment": Breakage(
        "azure",
        first("azure-native:authorization:RoleAssignment"),
        _set(
            "roleDefinitionId",
            "/subscriptions/0/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        ),
        "no-grant",
        "Owner",
    ),
    "root-container": Breakage(
        "dev",
        DEPLOYMENT,
        _containers(lambda c: c["securityContext"].update(runAsNonRoot=False)),
        "containers-non-root",
        "may run as root",
    ),
    "writable-root": Breakage(
        "dev",
        DEPLOYMENT,
        _containers(lambda c: c["securityContext"].pop("readOnlyRootFilesystem")),
        "containers-non-root",
        "readOnlyRootFilesystem",
    ),
    "no-memory-limit": Breakage(
        "dev",
        DEPLOYMENT,
        _containers(lambda c: c["resources"]["limits"].pop("memory")),
        "containers-non-root",
        "memory limit",
    ),
    "no-readiness-probe": Breakage(
        "dev",
        DEPLOYMENT,
        _containers(lambda c: c.pop("readinessProbe")),
        "containers-non-root",
        "readinessProbe",
    ),
    "image-by-tag": Breakage(
        "dev",
        DEPLOYMENT,
        _containers(lambda c: c.update(image="registry.example/liftoff:latest")),
        "images-by-digest",
        "by digest",
    ),
    "ingress-plain-http-unwaived": Breakage(
        "dev",
        first("kubernetes:networking.k8s.io/v1:Ingress"),
        lambda inputs: inputs["metadata"]["annotations"].pop("liftoff.dev/plain-http"),
        "edge-tls",
        "spec.tls",
    ),
    "server-without-keys": Breakage(
        "dev",
        DEPLOYMENT,
        _containers(
            lambda c: c.update(env=[e for e in c["env"] if not e["name"].startswith("LIFTOFF_API_KEYS")])
        ),
        "edge-auth",
        "LIFTOFF_API_KEYS_FILE",
    ),
    "eks-pods-reach-imds": Breakage(
        "aws",
        first("aws:ec2/launchTemplate:LaunchTemplate"),
        _set("metadataOptions.httpPutResponseHopLimit", 2),
        "node-credentials",
        "httpPutResponseHopLimit=1",
    ),
    "gke-node-metadata-exposed": Breakage(
        "gcp",
        first("gcp:container/nodePool:NodePool"),
        _set("nodeConfig.workloadMetadataConfig.mode", "GCE_METADATA"),
        "node-credentials",
        "GKE_METADATA",
    ),
    "aws-untagged": Breakage(
        "aws", first("aws:ec2/vpc:Vpc"), _set("tags", {}), "cost-tags", "project, stack"
    ),
    "gcp-unlabelled": Breakage(
        "gcp",
        first("gcp:container/cluster:Cluster"),
        _set("resourceLabels", {}),
        "cost-tags",
        "project, stack",
    ),
    "azure-untagged": Breakage(
        "azure",
        first("azure-native:resources:ResourceGroup"),
        _set("tags", {"project": "liftoff"}),
        "cost-tags",
        "stack",
    ),
}


@pytest.mark.parametrize("case", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_a_broken_resource_fails_with_a_message_that_says_how_to_fix_it(case: Breakage) -> None:
    plan = run_stack(case.stack)
    target = case.pick(plan)
    found = violations(plan, replace={target.urn: broken(target, case.mutate)})
    assert found, "the broken copy passed every policy"
    assert all(v.startswith(case.rule) for v in found), found
    assert any(case.message in v for v in found), found


@dataclass
class _Args:
    resource_type: str
    props: dict[str, Any]


def test_the_crossguard_policy_reports_what_the_rule_finds() -> None:
    """The wrapper the Pulumi CLI calls passes each message on to `report_violation`."""
    rule = next(r for r in RULES if r.name == "images-by-digest")
    assert isinstance(rule, ResourceRule)
    deployment = DEPLOYMENT(run_stack("dev"))
    bad = broken(deployment, _containers(lambda c: c.update(image="liftoff:latest")))
    reported: list[str] = []
    rule.policy().validate(_Args(bad.type, bad.inputs), lambda message, urn=None: reported.append(message))
    assert reported and "by digest" in reported[0]


def _sdk_tag_parameter(resource_type: str) -> str | None:
    """The tags/labels parameter the provider SDK's resource class takes, if any."""
    package, module, name = resource_type.split(":")
    sdk = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "azure-native": "pulumi_azure_native"}.get(package)
    if sdk is None:
        return None
    module = module.split("/")[0]
    cls = getattr(importlib.import_module(sdk if module == "index" else f"{sdk}.{module}"), name)
    parameters = inspect.signature(cls._internal_init).parameters
    return next((p for p in ("tags", "labels", "resource_labels") if p in parameters), None)


@pytest.mark.parametrize("stack", ["aws", "gcp", "azure"])
def test_the_cost_tag_table_knows_every_taggable_type_in_the_stack(stack: str) -> None:
    for resource_type in sorted({r.type for r in run_stack(stack).resources}):
        sdk_says = _sdk_tag_parameter(resource_type)
        policy_says = cost_tags.tag_path(resource_type)
        if resource_type == "gcp:container/nodePool:NodePool":
            continue  # labels live in nodeConfig.resourceLabels, which the SDK's top level does not show
        assert (sdk_says is not None) == (policy_says is not None), resource_type
