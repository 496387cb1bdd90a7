"""The gcp stack under mocks, with Pulumi.gcp.yaml: the rules a user of GKE relies on, read from the plan."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi_gcp as gcp
import pytest

from infra.clouds.gcp.kubeconfig import AUTH_PLUGIN, kubeconfig_for, render_kubeconfig
from infra.plan import Plan, PlanError, PlannedResource, run_stack

STACK = "gcp"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
# GKE's documented minimum for a node account, and the two it covers (kept for older GKE versions).
PROJECT_ROLES = {
    "roles/container.defaultNodeServiceAccount",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
}
REPOSITORY_ROLE = "roles/artifactregistry.reader"
COST_LABELS = {"project": "liftoff", "stack": STACK, "managed-by": "pulumi"}
IAM_TYPES = (
    "gcp:projects/iAMMember:IAMMember",
    "gcp:projects/iAMBinding:IAMBinding",
    "gcp:projects/iAMPolicy:IAMPolicy",
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
    "gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding",
    "gcp:serviceaccount/iAMMember:IAMMember",
)


def plan(overrides: Mapping[str, object] | None = None) -> Plan:
    return run_stack(STACK, overrides)


# Every non-default choice at once, so one more plan (each takes seconds) covers them all.
VARIANT: dict[str, object] = {
    "gcpLocationMode": "regional",
    "gcpGpuZones": ["us-central1-b", "us-central1-c"],
    "gcpReleaseChannel": "STABLE",
    "gcpDeletionProtection": True,
    "gcpGpuSpot": True,
    "gcpRegistryKeepCount": 3,
    "gcpMasterAuthorizedNetworks": ["198.51.100.0/24", "203.0.113.7/32"],
    "gcpGpuMachineType": "n1-standard-8",
    "gcpGpuAcceleratorType": "nvidia-tesla-t4",
    "gcpGpuAcceleratorCount": 2,
}


@pytest.fixture(scope="module")
def default_plan() -> Plan:
    return plan()


@pytest.fixture(scope="module")
def variant_plan() -> Plan:
    return plan(VARIANT)


def cluster(p: Plan) -> dict[str, Any]:
    return p.one(CLUSTER).inputs


def pool(p: Plan, suffix: str) -> dict[str, Any]:
    found = [r for r in p.by_type(NODE_POOL) if r.name.endswith(f"-{suffix}")]
    assert len(found) == 1, [r.name for r in p.by_type(NODE_POOL)]
    return found[0].inputs


def node_account_email(p: Plan) -> str:
    account = p.one("gcp:serviceaccount/account:Account")
    return f"{account.inputs['accountId']}@{account.inputs['project']}.iam.gserviceaccount.com"


def test_the_apis_are_enabled_and_kept_on_destroy(default_plan: Plan) -> None:
    services = {r.inputs["service"]: r.inputs for r in default_plan.by_type("gcp:projects/service:Service")}
    assert {"container.googleapis.com", "artifactregistry.googleapis.com", "compute.googleapis.com"} <= set(
        services
    )
    assert all(s["disableOnDestroy"] is False for s in services.values())


def test_the_subnetwork_carries_pod_and_service_ranges_that_the_cluster_uses(default_plan: Plan) -> None:
    assert default_plan.one("gcp:compute/network:Network").inputs["autoCreateSubnetworks"] is False
    subnet = default_plan.one("gcp:compute/subnetwork:Subnetwork").inputs
    assert subnet["privateIpGoogleAccess"] is True
    ranges = {r["rangeName"]: r["ipCidrRange"] for r in subnet["secondaryIpRanges"]}
    policy = cluster(default_plan)["ipAllocationPolicy"]
    assert {policy["clusterSecondaryRangeName"], policy["servicesSecondaryRangeName"]} == set(ranges)
    assert len(set(ranges.values()) | {subnet["ipCidrRange"]}) == 3


def test_private_nodes_reach_out_through_cloud_nat(default_plan: Plan) -> None:
    nat = default_plan.one("gcp:compute/routerNat:RouterNat").inputs
    assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    router = default_plan.one("gcp:compute/router:Router")
    assert nat["router"] == router.name


def test_the_cluster_is_zonal_by_default_and_regional_when_asked(
    default_plan: Plan, variant_plan: Plan
) -> None:
    assert cluster(default_plan)["location"] == "us-central1-a"
    assert cluster(variant_plan)["location"] == "us-central1"
    assert pool(variant_plan, "gpu")["nodeLocations"] == ["us-central1-b", "us-central1-c"]


def test_the_cluster_follows_a_release_channel_without_its_default_pool(
    default_plan: Plan, variant_plan: Plan
) -> None:
    inputs = cluster(default_plan)
    assert inputs["releaseChannel"]["channel"] == "REGULAR"
    assert inputs["removeDefaultNodePool"] is True
    assert int(inputs["minMasterVersion"].split(".")[1]) >= 33
    assert cluster(variant_plan)["releaseChannel"]["channel"] == "STABLE"


def test_workload_identity_is_on_for_the_cluster_and_every_pool(default_plan: Plan) -> None:
    inputs = cluster(default_plan)
    assert inputs["workloadIdentityConfig"]["workloadPool"] == f"{inputs['project']}.svc.id.goog"
    for name in ("system", "gpu"):
        assert pool(default_plan, name)["nodeConfig"]["workloadMetadataConfig"]["mode"] == "GKE_METADATA"


def test_nodes_are_private_and_the_api_only_answers_authorised_networks(
    default_plan: Plan, variant_plan: Plan
) -> None:
    inputs = cluster(default_plan)
    assert inputs["privateClusterConfig"]["enablePrivateNodes"] is True
    blocks = inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert [b["cidrBlock"] for b in blocks] == ["203.0.113.7/32"]
    assert "0.0.0.0/0" not in [b["cidrBlock"] for b in blocks]
    assert [
        b["cidrBlock"] for b in cluster(variant_plan)["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    ] == [
        "198.51.100.0/24",
        "203.0.113.7/32",
    ]


def test_network_policy_is_enforced_by_dataplane_v2(default_plan: Plan) -> None:
    inputs = cluster(default_plan)
    assert inputs["datapathProvider"] == "ADVANCED_DATAPATH"
    # Dataplane V2 enforces policy itself; the Calico add-on must not be switched on beside it.
    assert not (inputs.get("networkPolicy") or {}).get("enabled")


def test_nodes_are_shielded(default_plan: Plan) -> None:
    assert cluster(default_plan)["enableShieldedNodes"] is True
    for name in ("system", "gpu"):
        shielded = pool(default_plan, name)["nodeConfig"]["shieldedInstanceConfig"]
        assert shielded == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}


def test_destroy_is_not_blocked_by_deletion_protection_unless_asked(
    default_plan: Plan, variant_plan: Plan
) -> None:
    assert cluster(default_plan)["deletionProtection"] is False
    assert cluster(variant_plan)["deletionProtection"] is True


def test_nodes_run_as_their_own_account_with_no_role_beyond_logs_metrics_and_pulls(
    default_plan: Plan,
) -> None:
    email = node_account_email(default_plan)
    for name in ("system", "gpu"):
        config = pool(default_plan, name)["nodeConfig"]
        assert config["serviceAccount"] == email
        assert config["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    grants = [r for t in IAM_TYPES for r in default_plan.by_type(t)]
    node_grants = [g for g in grants if email in json.dumps(g.inputs)]
    project_roles = {g.inputs["role"] for g in node_grants if g.type.startswith("gcp:projects/")}
    repository_roles = {g.inputs["role"] for g in node_grants if g.type.startswith("gcp:artifactregistry/")}
    assert project_roles == PROJECT_ROLES
    assert repository_roles == {REPOSITORY_ROLE}
    assert all(g.type != "gcp:projects/iAMPolicy:IAMPolicy" for g in grants)


def test_the_registry_reader_role_is_bound_on_this_stacks_repository_only(default_plan: Plan) -> None:
    repository = default_plan.one("gcp:artifactregistry/repository:Repository").inputs
    grant = default_plan.one("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember").inputs
    assert grant["repository"] == repository["repositoryId"]
    assert grant["location"] == repository["location"]


def test_the_gpu_pool_scales_from_zero_with_gke_installing_the_driver(default_plan: Plan) -> None:
    gpu = pool(default_plan, "gpu")
    assert gpu["autoscaling"]["totalMinNodeCount"] == 0
    assert gpu["autoscaling"]["totalMaxNodeCount"] >= 1
    assert gpu["initialNodeCount"] == 0
    config = gpu["nodeConfig"]
    assert config["machineType"] == "g2-standard-8"
    [accelerator] = config["guestAccelerators"]
    assert (accelerator["type"], accelerator["count"]) == ("nvidia-l4", 1)
    assert accelerator["gpuDriverInstallationConfig"]["gpuDriverVersion"] in ("DEFAULT", "LATEST")


def test_both_pools_repair_and_upgrade_themselves(default_plan: Plan) -> None:
    for name in ("system", "gpu"):
        assert pool(default_plan, name)["management"] == {"autoRepair": True, "autoUpgrade": True}


def test_the_system_pool_has_no_gpu_and_keeps_a_node(default_plan: Plan) -> None:
    system = pool(default_plan, "system")
    assert not system["nodeConfig"].get("guestAccelerators")
    assert system["autoscaling"]["totalMinNodeCount"] >= 1


def test_spot_gpu_nodes_are_opt_in(default_plan: Plan, variant_plan: Plan) -> None:
    assert pool(default_plan, "gpu")["nodeConfig"].get("spot") is False
    assert pool(variant_plan, "gpu")["nodeConfig"]["spot"] is True


def test_accelerator_type_and_count_come_from_config(variant_plan: Plan) -> None:
    config = pool(variant_plan, "gpu")["nodeConfig"]
    assert config["machineType"] == "n1-standard-8"
    assert config["guestAccelerators"][0]["type"] == "nvidia-tesla-t4"
    assert config["guestAccelerators"][0]["count"] == 2


def test_gpu_pods_land_only_on_gpu_nodes_and_tolerate_their_taint(default_plan: Plan) -> None:
    gpu = pool(default_plan, "gpu")
    [taint] = gpu["nodeConfig"]["taints"]
    assert (taint["key"], taint["effect"]) == ("nvidia.com/gpu", "NO_SCHEDULE")
    spec = default_plan.k8s_object("Deployment", "inference")["spec"]["template"]["spec"]
    accelerator = gpu["nodeConfig"]["guestAccelerators"][0]["type"]
    assert spec["nodeSelector"] == {"cloud.google.com/gke-accelerator": accelerator}
    assert any(
        t["key"] == taint["key"]
        and t.get("effect") in (None, "NoSchedule")
        and (t["operator"] == "Exists" or t.get("value") == taint["value"])
        for t in spec["tolerations"]
    )
    [server] = spec["containers"]
    assert server["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_gke_provides_the_device_plugin_and_metrics_server_so_neither_is_installed(
    default_plan: Plan,
) -> None:
    charts = {r.inputs.get("chart") for r in default_plan.helm_releases()}
    assert "nvidia-device-plugin" not in charts
    assert "metrics-server" not in charts


def test_the_repository_holds_docker_images_and_cleans_up_old_ones(
    default_plan: Plan, variant_plan: Plan
) -> None:
    repository = default_plan.one("gcp:artifactregistry/repository:Repository").inputs
    assert repository["format"] == "DOCKER"
    assert repository.get("cleanupPolicyDryRun") is False
    policies = {p["action"]: p for p in repository["cleanupPolicies"]}
    assert policies["KEEP"]["mostRecentVersions"]["keepCount"] >= 1
    assert policies["DELETE"]["condition"]["tagState"] == "ANY"
    kept = variant_plan.one("gcp:artifactregistry/repository:Repository").inputs
    assert {p["action"]: p for p in kept["cleanupPolicies"]}["KEEP"]["mostRecentVersions"]["keepCount"] == 3


def test_the_image_is_pushed_to_the_repository_with_a_secret_access_token(default_plan: Plan) -> None:
    repository = default_plan.one("gcp:artifactregistry/repository:Repository").inputs
    host = f"{repository['location']}-docker.pkg.dev"
    registry_url = f"{host}/{repository['project']}/{repository['repositoryId']}/liftoff"
    assert default_plan.outputs["registry"] == registry_url
    image = default_plan.one("docker-build:index:Image").inputs
    assert all(tag.startswith(f"{registry_url}:") for tag in image["tags"])
    registries = image["registries"]
    # The plan records a secret list either whole or entry by entry; the token must be secret either way.
    if registries != "[secret]":
        [login] = registries
        assert login["password"] == "[secret]"
        assert login["username"] in ("[secret]", "oauth2accesstoken")
    assert default_plan.unanswered_calls == []


def test_every_kubernetes_object_goes_through_the_gke_provider(default_plan: Plan) -> None:
    provider = default_plan.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "[secret]"
    for resource in default_plan.resources:
        if resource.type.startswith("kubernetes:"):
            assert resource.provider_urn == provider.urn, resource.name


def test_the_kubeconfig_logs_in_through_gke_gcloud_auth_plugin() -> None:
    config = json.loads(render_kubeconfig("gke_p_z_c", "203.0.113.20", "Q0E="))
    [cluster_entry] = config["clusters"]
    assert cluster_entry["cluster"] == {
        "server": "https://203.0.113.20",
        "certificate-authority-data": "Q0E=",
    }
    [user] = config["users"]
    exec_ = user["user"]["exec"]
    assert exec_["command"] == AUTH_PLUGIN == "gke-gcloud-auth-plugin"
    assert exec_["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert exec_["provideClusterInfo"] is True
    assert "installHint" in exec_
    assert "token" not in user["user"] and "client-key-data" not in user["user"]


def labelled(resource: PlannedResource) -> dict[str, str]:
    inputs = resource.inputs
    if resource.type == CLUSTER:
        return dict(inputs["resourceLabels"])
    if resource.type == NODE_POOL:
        return dict(inputs["nodeConfig"]["resourceLabels"])
    return dict(inputs["labels"])


def test_labelable_resources_carry_the_cost_tags(default_plan: Plan) -> None:
    resources = [
        default_plan.one(CLUSTER),
        default_plan.one("gcp:artifactregistry/repository:Repository"),
        *default_plan.by_type(NODE_POOL),
    ]
    for resource in resources:
        assert COST_LABELS.items() <= labelled(resource).items(), resource.name


def test_every_gcp_resource_belongs_to_the_platform_component(default_plan: Plan) -> None:
    component = default_plan.one("liftoff:gcp:Platform")
    for resource in default_plan.resources:
        if resource.type.startswith("gcp:"):
            assert resource.parent == component.urn, resource.name


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (
            {"gcpGpuMachineType": "g2-standard-8", "gcpGpuAcceleratorType": "nvidia-tesla-t4"},
            "gcpGpuAcceleratorType",
        ),
        ({"gcpGpuNodesMin": 3, "gcpGpuNodesMax": 1}, "gcpGpuNodesMin"),
        ({"gcpMasterAuthorizedNetworks": [], "gcpDnsEndpoint": False}, "gcpMasterAuthorizedNetworks"),
    ],
)
def test_bad_config_stops_the_plan_naming_the_key(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(PlanError, match=f"liftoff:{key}"):
        plan(overrides)


def test_gke_collects_gpu_metrics_itself_so_no_dcgm_exporter_is_installed(default_plan: Plan) -> None:
    charts = {r.inputs.get("chart") for r in default_plan.helm_releases()}
    assert "kube-prometheus-stack" in charts, "the gcp stack runs with monitoring"
    assert "dcgm-exporter" not in charts


def test_resource_manager_is_enabled_before_the_project_iam_bindings_need_it(default_plan: Plan) -> None:
    services = {s.inputs["service"] for s in default_plan.by_type("gcp:projects/service:Service")}
    assert "cloudresourcemanager.googleapis.com" in services


def test_the_control_plane_reaches_kedas_metrics_server_and_webhooks_on_the_nodes(default_plan: Plan) -> None:
    """Private nodes: GKE opens only 443 and 10250 from the control plane; KEDA needs 6443 and 9443."""
    from infra.clouds.gcp.mocks import CONTROL_PLANE_PRIVATE_IP

    rule = default_plan.one("gcp:compute/firewall:Firewall", "liftoff-control-plane-webhooks").inputs
    assert rule["direction"] == "INGRESS"
    assert rule["sourceRanges"] == [f"{CONTROL_PLANE_PRIVATE_IP}/32"]
    assert rule["allows"] == [{"protocol": "tcp", "ports": ["6443", "9443"]}]
    nodes = default_plan.one("gcp:serviceaccount/account:Account")
    assert rule["targetServiceAccounts"] == [
        f"{nodes.inputs['accountId']}@{nodes.inputs['project']}.iam.gserviceaccount.com"
    ]


def endpoints(dns_name: str | None) -> gcp.container.outputs.ClusterControlPlaneEndpointsConfig:
    return gcp.container.outputs.ClusterControlPlaneEndpointsConfig(
        dns_endpoint_config=gcp.container.outputs.ClusterControlPlaneEndpointsConfigDnsEndpointConfig(
            allow_external_traffic=True, endpoint=dns_name
        )
    )


def test_the_api_is_not_open_to_the_internet_by_default_and_the_dns_endpoint_is_an_opt_in(
    default_plan: Plan,
) -> None:
    """The shipped stack: only the authorised networks reach the API; the DNS endpoint (any address,
    IAM-checked) is an explicit choice, and even then takes only Google tokens."""
    inputs = cluster(default_plan)
    assert inputs["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] is False
    assert [c["cidrBlock"] for c in inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"]] == [
        "203.0.113.7/32"
    ]
    dns = cluster(plan({"gcpDnsEndpoint": True}))["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]
    assert dns["allowExternalTraffic"] is True
    assert not dns.get("enableK8sTokensViaDns") and not dns.get("enableK8sCertsViaDns")


def test_the_dns_endpoint_turns_off_and_then_the_authorised_networks_are_required() -> None:
    off = plan({"gcpDnsEndpoint": False})
    assert cluster(off)["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] is False
    with pytest.raises(PlanError, match="liftoff:gcpMasterAuthorizedNetworks"):
        plan({"gcpDnsEndpoint": False, "gcpMasterAuthorizedNetworks": []})


def test_with_the_dns_endpoint_no_authorised_network_is_needed_and_the_ip_endpoint_is_closed() -> None:
    inputs = cluster(plan({"gcpDnsEndpoint": True, "gcpMasterAuthorizedNetworks": []}))
    assert inputs["masterAuthorizedNetworksConfig"].get("cidrBlocks", []) == []
    assert inputs["masterAuthorizedNetworksConfig"]["gcpPublicCidrsAccessEnabled"] is False


def test_the_kubeconfig_uses_the_dns_endpoint_with_no_ca_when_on() -> None:
    on = json.loads(
        kubeconfig_for(
            "ctx", "203.0.113.20", "Q0E=", endpoints("gke-1.us-central1-a.gke.goog"), use_dns_endpoint=True
        )
    )
    assert on["clusters"][0]["cluster"] == {"server": "https://gke-1.us-central1-a.gke.goog"}
    assert on["users"][0]["user"]["exec"]["command"] == AUTH_PLUGIN
    off = json.loads(
        kubeconfig_for(
            "ctx", "203.0.113.20", "Q0E=", endpoints("gke-1.us-central1-a.gke.goog"), use_dns_endpoint=False
        )
    )
    assert off["clusters"][0]["cluster"] == {
        "server": "https://203.0.113.20",
        "certificate-authority-data": "Q0E=",
    }


def test_a_dns_endpoint_gke_did_not_report_fails_loudly_rather_than_pointing_at_nothing() -> None:
    with pytest.raises(ValueError, match="gcpDnsEndpoint"):
        kubeconfig_for("ctx", "203.0.113.20", "Q0E=", endpoints(None), use_dns_endpoint=True)


def test_logs_flow_logs_and_managed_gpu_metrics_are_off_unless_asked(default_plan: Plan) -> None:
    """Each bills by volume: the defaults keep system components only."""
    inputs = cluster(default_plan)
    assert inputs["loggingConfig"]["enableComponents"] == ["SYSTEM_COMPONENTS"]
    assert inputs["monitoringConfig"]["enableComponents"] == ["SYSTEM_COMPONENTS"]
    assert inputs["monitoringConfig"]["managedPrometheus"]["enabled"] is False
    subnet = default_plan.one("gcp:compute/subnetwork:Subnetwork").inputs
    assert not subnet.get("logConfig")
    asked = plan({"gcpWorkloadLogs": True, "gcpFlowLogs": True, "gcpManagedGpuMetrics": True})
    on = cluster(asked)
    assert "WORKLOADS" in on["loggingConfig"]["enableComponents"]
    assert "DCGM" in on["monitoringConfig"]["enableComponents"]
    assert asked.one("gcp:compute/subnetwork:Subnetwork").inputs["logConfig"]["flowSampling"] <= 0.1


def test_the_temporary_default_pool_runs_as_the_stacks_node_account(default_plan: Plan) -> None:
    """Never the Compute Engine default account, even for the minutes before the pool is removed."""
    node_config = cluster(default_plan)["nodeConfig"]
    account_id = default_plan.one("gcp:serviceaccount/account:Account").inputs["accountId"]
    assert node_config["serviceAccount"] == f"{account_id}@liftoff-example.iam.gserviceaccount.com"
