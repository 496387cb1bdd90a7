"""The azure stack under mocks with Pulumi.azure.yaml: the rules an AKS user relies on, read from the plan."""

from __future__ import annotations

import base64
import importlib
import inspect
import io
import ipaddress
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.clouds.azure import acr_token, mocks
from infra.clouds.azure.acr_token import exchange_form, token_expiry
from infra.clouds.azure.kubeconfig import AKS_SERVER_APP_ID, to_kubelogin
from infra.plan import Plan, PlanError, PlannedResource, run_stack
from tests.infra import test_checkov as checkov
from tests.infra import test_manifests as manifests

STACK = "azure"
CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
REGISTRY = "azure-native:containerregistry:Registry"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
PUSH_TOKEN = "pulumi-python:dynamic/liftoff:AcrPushToken"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
COST_TAGS = {"project": "liftoff", "stack": STACK, "managed-by": "pulumi"}
ADMIN_GROUP = "11111111-2222-3333-4444-555555555555"

# Every non-default choice at once, so one more plan covers them all.
VARIANT: dict[str, object] = {
    "azureGpuSpot": True,
    "azureNetworkPolicy": "azure",
    "azureGpuVmSize": "Standard_NC24ads_A100_v4",
    "azureGpuMinCount": 1,
    "minReplicas": 1,
    "azureGpuMaxCount": 4,
    "azureAcrSku": "Premium",
    "azureAdminGroupObjectIds": [ADMIN_GROUP],
    "azureGrantDeployerRoles": False,
    "azureDeployerPrincipalType": "ServicePrincipal",
    "azureApiAuthorizedIpRanges": ["203.0.113.7/32"],
    # Monitoring on adds its add-ons and objects, so they too are checked on this cloud.
    "monitoring": True,
    "grafanaAdminPassword": "plan-only-password",
}


def plan(overrides: Mapping[str, object] | None = None) -> Plan:
    return run_stack(STACK, overrides)


@pytest.fixture(scope="module")
def default_plan() -> Plan:
    return plan()


@pytest.fixture(scope="module")
def variant_plan() -> Plan:
    return plan(VARIANT)


@pytest.fixture(scope="module")
def cpu_plan() -> Plan:
    """No GPU, and a CI service principal running `pulumi up`."""
    return plan({"gpu": 0, "imageVariant": "cpu", "azureDeployerPrincipalType": "ServicePrincipal"})


def cluster(p: Plan) -> dict[str, Any]:
    return p.one(CLUSTER).inputs


def gpu_pool(p: Plan) -> dict[str, Any]:
    return p.one(AGENT_POOL).inputs


def role_assignments(p: Plan, role: str) -> list[dict[str, Any]]:
    return [r.inputs for r in p.by_type(ROLE_ASSIGNMENT) if r.inputs["roleDefinitionId"].endswith(f"/{role}")]


def resource_id(resource: PlannedResource) -> str:
    """The id the plan's mocks give a resource (`<name>-id`): what other resources refer to it by."""
    return f"{resource.name}-id"


def pool_taints(pool: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(key, value, effect) of every taint a node of this pool carries, AKS's own spot taint included."""
    taints = []
    for taint in pool.get("nodeTaints") or []:
        key_value, effect = taint.split(":")
        key, _, value = key_value.partition("=")
        taints.append((key, value, effect))
    if pool.get("scaleSetPriority") == "Spot":
        taints.append(("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule"))
    return taints


def tolerated(taint: tuple[str, str, str], tolerations: list[dict[str, Any]]) -> bool:
    """Kubernetes' matching rule: same key (or none), Exists or an equal value, same effect (or none)."""
    key, value, effect = taint
    for toleration in tolerations:
        key_ok = toleration.get("key") in (None, key)
        operator = toleration.get("operator", "Equal")
        value_ok = operator == "Exists" or toleration.get("value", "") == value
        effect_ok = toleration.get("effect") in (None, "", effect)
        if key_ok and value_ok and effect_ok:
            return True
    return False


def inference_pod(p: Plan) -> dict[str, Any]:
    spec: dict[str, Any] = p.k8s_object("Deployment", "inference")["spec"]["template"]["spec"]
    return spec


# --- network ---------------------------------------------------------------------------------------------


def test_nodes_live_in_a_subnet_of_the_stacks_vnet_in_its_resource_group(default_plan: Plan) -> None:
    group = default_plan.one("azure-native:resources:ResourceGroup").inputs
    vnet = default_plan.one("azure-native:network:VirtualNetwork")
    subnet = default_plan.one("azure-native:network:Subnet")
    assert group["resourceGroupName"] == "liftoff-azure"
    assert vnet.inputs["resourceGroupName"] == group["resourceGroupName"]
    assert subnet.inputs["virtualNetworkName"] == vnet.name
    vnet_range = ipaddress.IPv4Network(vnet.inputs["addressSpace"]["addressPrefixes"][0])
    assert ipaddress.IPv4Network(subnet.inputs["addressPrefix"]).subnet_of(vnet_range)
    subnet_id = resource_id(subnet)
    assert cluster(default_plan)["agentPoolProfiles"][0]["vnetSubnetID"] == subnet_id
    assert gpu_pool(default_plan)["vnetSubnetID"] == subnet_id


def test_the_cluster_identity_may_manage_network_objects_in_the_node_subnet_only(default_plan: Plan) -> None:
    (network,) = role_assignments(default_plan, NETWORK_CONTRIBUTOR)
    assert network["scope"] == resource_id(default_plan.one("azure-native:network:Subnet"))
    assert network["principalId"] == mocks.CLUSTER_PRINCIPAL_ID
    assert network["principalType"] == "ServicePrincipal"


def test_azure_cni_overlay_gives_pods_a_range_apart_from_nodes_and_services(default_plan: Plan) -> None:
    network = cluster(default_plan)["networkProfile"]
    assert (network["networkPlugin"], network["networkPluginMode"]) == ("azure", "overlay")
    vnet = default_plan.one("azure-native:network:VirtualNetwork").inputs["addressSpace"]["addressPrefixes"][
        0
    ]
    ranges = [ipaddress.ip_network(r) for r in (network["podCidr"], network["serviceCidr"], vnet)]
    for i, first in enumerate(ranges):
        for second in ranges[i + 1 :]:
            assert not first.overlaps(second), (first, second)
    assert ipaddress.ip_address(network["dnsServiceIP"]) in ipaddress.ip_network(network["serviceCidr"])
    assert network["loadBalancerSku"] == "standard"


def test_network_policy_is_enforced_by_cilium_or_azure_npm(default_plan: Plan, variant_plan: Plan) -> None:
    cilium = cluster(default_plan)["networkProfile"]
    assert (cilium["networkPolicy"], cilium["networkDataplane"]) == ("cilium", "cilium")
    azure = cluster(variant_plan)["networkProfile"]
    assert azure["networkPolicy"] == "azure"
    assert "networkDataplane" not in azure


# --- cluster ---------------------------------------------------------------------------------------------


def test_the_cluster_pins_a_supported_kubernetes_version_and_upgrades_patches_itself(
    default_plan: Plan,
) -> None:
    inputs = cluster(default_plan)
    major, minor = inputs["kubernetesVersion"].split(".")[:2]
    assert major == "1" and int(minor) >= 33
    assert inputs["autoUpgradeProfile"]["upgradeChannel"] == "patch"
    assert inputs["autoUpgradeProfile"]["nodeOSUpgradeChannel"] == "NodeImage"


def test_the_cluster_runs_as_a_managed_identity_with_no_service_principal_secret(default_plan: Plan) -> None:
    inputs = cluster(default_plan)
    assert inputs["identity"]["type"] in ("SystemAssigned", "UserAssigned")
    assert "servicePrincipalProfile" not in inputs


def test_oidc_issuer_and_workload_identity_are_on(default_plan: Plan) -> None:
    inputs = cluster(default_plan)
    assert inputs["oidcIssuerProfile"]["enabled"] is True
    assert inputs["securityProfile"]["workloadIdentity"]["enabled"] is True


def test_entra_id_with_azure_rbac_replaces_local_accounts(default_plan: Plan, variant_plan: Plan) -> None:
    for p in (default_plan, variant_plan):
        inputs = cluster(p)
        assert inputs["aadProfile"]["managed"] is True
        assert inputs["aadProfile"]["enableAzureRBAC"] is True
        assert inputs["aadProfile"]["tenantID"] == mocks.TENANT_ID
        assert inputs["enableRBAC"] is True
        assert inputs["disableLocalAccounts"] is True
    assert cluster(variant_plan)["aadProfile"]["adminGroupObjectIDs"] == [ADMIN_GROUP]


def test_the_variants_ranges_reach_the_cluster(variant_plan: Plan) -> None:
    assert cluster(variant_plan)["apiServerAccessProfile"]["authorizedIPRanges"] == ["203.0.113.7/32"]


def test_the_deployer_is_made_cluster_admin_on_this_cluster_only(default_plan: Plan) -> None:
    (admin,) = role_assignments(default_plan, AKS_RBAC_CLUSTER_ADMIN)
    assert admin["scope"] == resource_id(default_plan.one(CLUSTER))
    assert admin["principalId"] == mocks.DEPLOYER_OBJECT_ID
    assert admin["principalType"] == "User"
    assert admin["roleDefinitionId"].startswith(f"/subscriptions/{mocks.SUBSCRIPTION_ID}/providers/")


def test_with_admin_groups_the_deployer_can_be_left_without_roles(variant_plan: Plan) -> None:
    assert role_assignments(variant_plan, AKS_RBAC_CLUSTER_ADMIN) == []
    assert role_assignments(variant_plan, ACR_PUSH) == []


def test_a_ci_service_principal_is_named_as_one_in_its_role_assignments(cpu_plan: Plan) -> None:
    for role in (AKS_RBAC_CLUSTER_ADMIN, ACR_PUSH):
        (assignment,) = role_assignments(cpu_plan, role)
        assert assignment["principalType"] == "ServicePrincipal"


# --- pools -----------------------------------------------------------------------------------------------


def test_the_system_pool_is_inline_autoscaled_and_keeps_a_node(default_plan: Plan) -> None:
    (system,) = cluster(default_plan)["agentPoolProfiles"]
    assert system["mode"] == "System"
    assert system["enableAutoScaling"] is True
    assert system["minCount"] >= 1
    assert not system.get("vmSize", "").startswith("Standard_N")
    assert not system.get("nodeTaints")


def test_the_gpu_pool_is_a_t4_user_pool_of_the_cluster_scaling_from_zero(default_plan: Plan) -> None:
    pool = gpu_pool(default_plan)
    assert pool["resourceName"] == cluster(default_plan)["resourceName"]
    assert pool["mode"] == "User"
    assert pool["vmSize"] == "Standard_NC4as_T4_v3"
    assert pool["enableAutoScaling"] is True
    assert pool["minCount"] == 0
    assert pool["maxCount"] >= 1
    assert pool["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule"]
    assert pool["osDiskSizeGB"] >= 100
    assert pool["scaleSetPriority"] == "Regular"


def test_aks_installs_the_driver_and_the_platform_installs_the_device_plugin(default_plan: Plan) -> None:
    assert gpu_pool(default_plan)["gpuProfile"]["driver"] == "Install"
    default_plan.helm_release("nvidia-device-plugin")
    assert not [r for r in default_plan.helm_releases() if r.inputs.get("chart") == "metrics-server"]


def test_spot_gpu_nodes_are_opt_in_with_delete_eviction(default_plan: Plan, variant_plan: Plan) -> None:
    assert gpu_pool(default_plan)["scaleSetPriority"] == "Regular"
    pool = gpu_pool(variant_plan)
    assert pool["scaleSetPriority"] == "Spot"
    assert pool["scaleSetEvictionPolicy"] == "Delete"
    assert pool["spotMaxPrice"] == -1
    assert (pool["vmSize"], pool["minCount"], pool["maxCount"]) == ("Standard_NC24ads_A100_v4", 1, 4)


@pytest.mark.parametrize("which", ["default", "variant"])
def test_gpu_pods_tolerate_every_taint_of_the_gpu_pool_and_land_only_there(
    which: str, default_plan: Plan, variant_plan: Plan
) -> None:
    p = default_plan if which == "default" else variant_plan
    pool = gpu_pool(p)
    pod = inference_pod(p)
    for taint in pool_taints(pool):
        assert tolerated(taint, pod["tolerations"]), taint
    assert pod["nodeSelector"].items() <= pool["nodeLabels"].items()
    system_labels = cluster(p)["agentPoolProfiles"][0].get("nodeLabels", {})
    assert not pod["nodeSelector"].items() <= system_labels.items()
    (container,) = [c for c in pod["containers"] if c["name"] == "inference"] or pod["containers"][:1]
    assert int(container["resources"]["limits"]["nvidia.com/gpu"]) == 1


@pytest.mark.parametrize("which", ["default", "variant"])
def test_the_device_plugin_daemonset_can_run_on_the_gpu_nodes(
    which: str, default_plan: Plan, variant_plan: Plan
) -> None:
    p = default_plan if which == "default" else variant_plan
    pool = gpu_pool(p)
    values = p.helm_release("nvidia-device-plugin").inputs.get("values") or {}
    for taint in pool_taints(pool):
        assert tolerated(taint, values.get("tolerations", [])), taint
    assert (values.get("nodeSelector") or {}).items() <= pool["nodeLabels"].items()
    if "affinity" not in values:
        # The chart's default node affinity admits only nodes labelled nvidia.com/gpu.present=true (or
        # NFD's PCI label, which AKS does not set): the pool must carry it or the plugin never starts.
        assert pool["nodeLabels"].get("nvidia.com/gpu.present") == "true"


def test_without_gpus_there_is_no_gpu_pool_device_plugin_or_toleration(cpu_plan: Plan) -> None:
    assert cpu_plan.by_type(AGENT_POOL) == []
    assert not [r for r in cpu_plan.helm_releases() if r.inputs.get("chart") == "nvidia-device-plugin"]
    pod = inference_pod(cpu_plan)
    assert not pod.get("tolerations")
    assert "nvidia.com/gpu" not in str(pod["containers"])


# --- registry --------------------------------------------------------------------------------------------


def test_the_registry_has_no_admin_user_and_no_anonymous_pull(default_plan: Plan, variant_plan: Plan) -> None:
    registry = default_plan.one(REGISTRY).inputs
    assert registry["adminUserEnabled"] is False
    assert registry["anonymousPullEnabled"] is False
    assert registry["sku"]["name"] == "Basic"
    assert variant_plan.one(REGISTRY).inputs["sku"]["name"] == "Premium"


def test_the_kubelet_identity_pulls_from_this_registry_with_acr_pull(default_plan: Plan) -> None:
    (pull,) = role_assignments(default_plan, ACR_PULL)
    assert pull["principalId"] == mocks.KUBELET_OBJECT_ID
    assert pull["principalType"] == "ServicePrincipal"
    assert pull["scope"] == resource_id(default_plan.one(REGISTRY))


def test_the_image_is_pushed_with_an_exchanged_entra_id_token_never_admin_credentials(
    default_plan: Plan,
) -> None:
    registry = default_plan.one(REGISTRY)
    login_server = f"{registry.inputs['registryName']}.azurecr.io"
    token = default_plan.one(PUSH_TOKEN).inputs
    assert token["login_server"] == login_server
    assert token["tenant_id"] == mocks.TENANT_ID
    assert token["aad_token"] == "[secret]"
    (push,) = role_assignments(default_plan, ACR_PUSH)
    assert (push["principalId"], push["scope"]) == (mocks.DEPLOYER_OBJECT_ID, resource_id(registry))
    image = default_plan.one("docker-build:index:Image").inputs
    assert all(tag.startswith(f"{login_server}/") for tag in image["tags"])
    registries = image["registries"]
    assert registries == "[secret]" or all(r["password"] == "[secret]" for r in registries), registries
    # The mocks fail the plan on any admin-credential call and log any call they cannot answer: a plan that
    # finished with none unanswered read no admin credentials.
    assert default_plan.unanswered_calls == []


@pytest.mark.parametrize("token", mocks.FORBIDDEN_CALLS)
def test_the_mocks_fail_any_admin_credential_call(token: str) -> None:
    class Call:
        def __init__(self) -> None:
            self.token = token
            self.args: dict[str, Any] = {}

    with pytest.raises(RuntimeError, match="admin credentials"):
        mocks.CALLS[token](Call())  # type: ignore[arg-type]


def test_the_exchange_form_trades_the_entra_token_for_this_registry() -> None:
    form = dict(
        pair.split("=", 1)
        for pair in exchange_form("r.azurecr.io", "tenant", "entra-token").decode().split("&")
    )
    assert form == {
        "grant_type": "access_token",
        "service": "r.azurecr.io",
        "tenant": "tenant",
        "access_token": "entra-token",
    }


def test_a_push_token_is_renewed_by_its_expiry_claim() -> None:
    claims = base64.urlsafe_b64encode(b'{"exp": 1900000000}').decode().rstrip("=")
    assert token_expiry(f"header.{claims}.signature", now=0) == 1900000000
    assert token_expiry("not-a-jwt", now=100) == 100 + 3 * 3600


# --- kubeconfig and provider -----------------------------------------------------------------------------


def test_the_kubeconfig_signs_in_non_interactively_through_kubelogin() -> None:
    source = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": "https://c:443", "certificate-authority-data": "Q0E="}}
        ],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
        "users": [
            {"name": "u", "user": {"exec": {"command": "kubelogin", "args": ["--login", "devicecode"]}}}
        ],
    }
    converted = yaml.safe_load(to_kubelogin(base64.b64encode(yaml.safe_dump(source).encode()).decode()))
    assert converted["clusters"] == source["clusters"]
    (user,) = converted["users"]
    exec_ = user["user"]["exec"]
    assert exec_["command"] == "kubelogin"
    assert exec_["args"] == ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER_APP_ID]
    assert exec_["interactiveMode"] == "Never"
    assert "token" not in user["user"] and "client-key-data" not in user["user"]


def test_every_kubernetes_object_goes_through_the_aks_provider_with_a_secret_kubeconfig(
    default_plan: Plan,
) -> None:
    provider = default_plan.one("pulumi:providers:kubernetes")
    assert provider.parent_type == "liftoff:azure:Platform"
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert default_plan.outputs["kubeconfig"] == "[secret]"
    kubernetes = [r for r in default_plan.resources if r.type.startswith("kubernetes:") and r.custom]
    assert kubernetes
    assert all(r.provider_urn == provider.urn for r in kubernetes), [
        r.name for r in kubernetes if r.provider_urn != provider.urn
    ]


def test_the_public_url_is_the_load_balancers_ip(default_plan: Plan) -> None:
    assert default_plan.outputs["url"].startswith("http://203.0.113.10/")


# --- every resource --------------------------------------------------------------------------------------


def _accepts_tags(type_token: str) -> bool:
    _, module, name = type_token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    return "tags" in inspect.signature(cls._internal_init).parameters


def test_every_taggable_azure_resource_carries_the_cost_tags(default_plan: Plan) -> None:
    azure = [r for r in default_plan.resources if r.type.startswith("azure-native:")]
    taggable = [r for r in azure if _accepts_tags(r.type)]
    assert {r.type for r in taggable} >= {
        CLUSTER,
        AGENT_POOL,
        REGISTRY,
        "azure-native:resources:ResourceGroup",
    }
    for resource in taggable:
        assert resource.inputs.get("tags") == COST_TAGS, resource.name
    assert cluster(default_plan)["agentPoolProfiles"][0]["tags"] == COST_TAGS


def test_every_cloud_resource_belongs_to_the_platform_component(default_plan: Plan) -> None:
    cloud = [
        r for r in default_plan.resources if r.type.startswith(("azure-native:", "pulumi-python:dynamic"))
    ]
    assert cloud
    assert {r.parent_type for r in cloud} == {"liftoff:azure:Platform"}
    assert not [r for r in default_plan.resources if r.type.startswith(("aws:", "gcp:"))]


# --- bad config ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"azureGpuVmSize": "Standard_D8s_v5"}, "liftoff:azureGpuVmSize"),
        ({"azureGpuMinCount": 3, "azureGpuMaxCount": 1}, "liftoff:azureGpuMinCount"),
    ],
)
def test_bad_config_stops_the_plan_naming_the_key(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(PlanError, match=key):
        plan(overrides)


# --- the push-token exchange, without a network --------------------------------------------------------


class _Response(io.BytesIO):
    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def test_the_exchange_posts_the_form_to_the_registry_and_returns_its_refresh_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[urllib.request.Request] = []

    def urlopen(request: urllib.request.Request, timeout: float) -> _Response:
        seen.append(request)
        return _Response(json.dumps({"refresh_token": "acr-token"}).encode())

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    assert acr_token.exchange("r.azurecr.io", "tenant", "entra") == "acr-token"
    (request,) = seen
    assert (request.full_url, request.get_method()) == ("https://r.azurecr.io/oauth2/exchange", "POST")
    assert request.data == acr_token.exchange_form("r.azurecr.io", "tenant", "entra")


def test_a_refused_exchange_says_which_role_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def urlopen(request: urllib.request.Request, timeout: float) -> _Response:
        raise urllib.error.HTTPError(request.full_url, 401, "Unauthorized", Message(), io.BytesIO(b"denied"))

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(RuntimeError, match="AcrPush"):
        acr_token.exchange("r.azurecr.io", "tenant", "entra")


def test_a_stored_push_token_is_kept_until_it_nears_expiry_or_the_registry_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchanged: list[str] = []

    def exchange(login_server: str, tenant_id: str, aad_token: str) -> str:
        exchanged.append(aad_token)
        return f"token-for-{aad_token}"

    monkeypatch.setattr(acr_token, "exchange", exchange)
    provider = acr_token._AcrTokenExchange()
    inputs = {"login_server": "r.azurecr.io", "tenant_id": "t", "aad_token": "first"}
    created = provider.create(inputs)
    assert created.outs is not None and created.outs["refresh_token"] == "token-for-first"
    stored = {**created.outs, "expires_on": time.time() + 3 * 3600}
    assert provider.diff("r", stored, {**inputs, "aad_token": "second"}).changes is False
    assert provider.diff("r", {**stored, "expires_on": time.time() + 60}, inputs).changes is True
    assert provider.diff("r", stored, {**inputs, "login_server": "other.azurecr.io"}).changes is True
    updated = provider.update("r", stored, {**inputs, "aad_token": "second"})
    assert updated.outs is not None and updated.outs["refresh_token"] == "token-for-second"
    assert exchanged == ["first", "second"]


# --- the rendered Kubernetes objects: schema and checkov, with the core's rules ------------------------


@pytest.mark.parametrize("which", ["default", "variant"])
def test_every_kubernetes_object_of_the_stack_validates_against_the_pinned_schema(
    which: str, default_plan: Plan, variant_plan: Plan
) -> None:
    p = default_plan if which == "default" else variant_plan
    manifests.assert_core_objects_validate(p)
    manifests.assert_custom_resources_match_their_crds(p)


def test_checkov_finds_no_failing_check_on_the_stacks_manifests(
    default_plan: Plan, variant_plan: Plan, tmp_path: Path
) -> None:
    report = checkov.checkov_report({"default": default_plan, "variant": variant_plan}, tmp_path)
    assert checkov.unjustified_failures(report) == []


# --- what the workload waits for -----------------------------------------------------------------------

_DEPENDENCIES_PROGRAM = """
import json, sys
import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from infra.plan.config import stack_config
from infra.plan.mocks import PlanMocks
from infra.plan.record import RecordingMonitor

class DependencyMonitor(RecordingMonitor):
    dependencies = {}
    def RegisterResource(self, request):
        self.dependencies[request.name] = sorted(u.rsplit("::", 1)[-1] for u in request.dependencies)
        return super().RegisterResource(request)

mocks = PlanMocks()
monitor = DependencyMonitor(mocks)
pulumi.runtime.set_all_config(stack_config("azure"))
pulumi.runtime.set_mocks(mocks, project="liftoff", stack="azure", preview=False, monitor=monitor)
found = {}
def program():
    from infra.clouds import create_platform
    from infra.settings import load_settings
    platform = create_platform(load_settings())
    found["depends_on"] = sorted(r._name for r in platform.depends_on)
_sync_await(run_pulumi_func(program))
print(json.dumps({"depends_on": found["depends_on"], "provider": monitor.dependencies["azure-k8s"],
                  "all": monitor.dependencies}))
"""


@pytest.fixture(scope="module")
def dependencies() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _DEPENDENCIES_PROGRAM],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_workload_and_its_provider_wait_for_the_pools_and_the_deployers_access(
    dependencies: dict[str, Any], default_plan: Plan
) -> None:
    pool = default_plan.one(AGENT_POOL).name
    cluster_name = default_plan.one(CLUSTER).name
    roles = {r.name for r in default_plan.by_type(ROLE_ASSIGNMENT) if not r.name.endswith("deployer-push")}
    assert len(roles) == 3  # the deployer's admin role, the kubelet's AcrPull, the cluster's subnet role
    for waits_for in (dependencies["depends_on"], dependencies["provider"]):
        assert {pool, cluster_name, *roles} <= set(waits_for), waits_for


def test_the_deployers_roles_are_used_only_once_azure_has_propagated_them(
    dependencies: dict[str, Any],
) -> None:
    """Role assignments take up to five minutes to take effect: the first Helm release and the first push
    wait for a RolePropagation that waits on each new assignment."""
    from infra.clouds.azure.propagation import PROPAGATION_S

    assert PROPAGATION_S >= 300
    every = dependencies["all"]
    assert "azure-aks-deployer-admin" in every["azure-admin-propagation"]
    assert "azure-admin-propagation" in dependencies["provider"]
    assert "azure-acr-deployer-push" in every["azure-acr-push-propagation"]
    assert "azure-acr-push-propagation" in every["azure-acr-push-token"]


def test_the_cluster_identitys_subnet_role_is_propagated_before_the_first_release(
    dependencies: dict[str, Any], variant_plan: Plan
) -> None:
    """The cloud controller wires Traefik's load balancer with the cluster identity's Network Contributor
    role on the node subnet: the first Helm release waits for it as for the deployer's, with or without
    deployer roles."""
    every = dependencies["all"]
    assert "azure-aks-subnet-network" in every["azure-admin-propagation"]
    assert "azure-admin-propagation" in dependencies["provider"]
    assert any(r.name == "azure-admin-propagation" for r in variant_plan.resources), (
        "no deployer roles (azureGrantDeployerRoles false): the subnet role still waits"
    )


def test_the_api_answers_only_the_listed_networks_unless_opened_by_name(default_plan: Plan) -> None:
    profile = default_plan.one(CLUSTER).inputs["apiServerAccessProfile"]
    assert profile["authorizedIPRanges"] == ["203.0.113.7/32"]
    with pytest.raises(PlanError, match="liftoff:azureApiAuthorizedIpRanges"):
        plan({"azureApiAuthorizedIpRanges": []})
    opened = plan({"azureApiAuthorizedIpRanges": [], "azureApiOpenToInternet": True})
    assert not opened.one(CLUSTER).inputs["apiServerAccessProfile"].get("authorizedIPRanges")


def test_the_gpu_pool_surges_one_node_on_upgrade(default_plan: Plan) -> None:
    """The preflight counts that node in the quota."""
    assert default_plan.one(AGENT_POOL).inputs["upgradeSettings"] == {"maxSurge": "1"}
