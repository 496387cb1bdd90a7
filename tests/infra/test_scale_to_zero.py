"""Scale to zero under mocks (liftoff:minReplicas 0): the interceptor's route, the HTTPScaledObject's target,
idle window and hold, one owner of the replica count, no PodDisruptionBudget in the way; the add-on's chart
values and CRD checked against the pinned upstream files (tests/infra/upstream/keda/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from infra.addons import charts
from infra.plan import Plan
from infra.workload import scale_to_zero
from tests.infra.conftest import DEV_GPU_MONITORING, PlanFor
from tests.infra.test_checkov import checkov_report, unjustified_failures
from tests.infra.test_manifests import (
    CUSTOM_RESOURCE_SCHEMAS,
    assert_core_objects_validate,
    assert_custom_resources_match_their_crds,
)

UPSTREAM = Path(__file__).parent / "upstream" / "keda"
ZERO = {"minReplicas": 0, "maxReplicas": 4, "idleMinutes": 9, "coldStartTimeoutSeconds": 480}


@pytest.fixture(scope="module")
def plain(plan_for: PlanFor) -> Plan:
    """The dev stack scaling to zero without monitoring: the add-on's own ScaledObject scales."""
    return plan_for("dev", ZERO)


@pytest.fixture(scope="module")
def monitored(plan_for: PlanFor) -> Plan:
    """With GPUs and monitoring: Liftoff's ScaledObject scales, the request count one of its triggers."""
    return plan_for("dev", {**DEV_GPU_MONITORING, **ZERO, "ingressHost": "infer.example.com"})


@pytest.fixture(params=["plain", "monitored"])
def plan(request: pytest.FixtureRequest) -> Plan:
    found: Plan = request.getfixturevalue(request.param)
    return found


def http_scaled_object(plan: Plan) -> dict[str, Any]:
    return plan.k8s_object("HTTPScaledObject", "inference")


def crd_schema() -> dict[str, Any]:
    return CUSTOM_RESOURCE_SCHEMAS[("http.keda.sh/v1alpha1", "HTTPScaledObject")]


def test_the_ingress_routes_to_the_interceptor_which_points_at_its_proxy(plan: Plan) -> None:
    ingress = plan.k8s_object("Ingress", "inference")
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == {scale_to_zero.INTERCEPTOR_SERVICE}
    ports = {
        p["backend"]["service"]["port"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]
    }
    service = plan.k8s_object("Service", scale_to_zero.INTERCEPTOR_SERVICE)
    assert service["spec"]["type"] == "ExternalName"
    assert service["spec"]["externalName"] == "keda-add-ons-http-interceptor-proxy.keda.svc.cluster.local"
    assert ports == {p["name"] for p in service["spec"]["ports"]}
    # The port the chart gives its proxy Service (interceptor.proxy.port).
    values = yaml.safe_load((UPSTREAM / "keda-add-ons-http-0.15.0.values.yaml").read_text())
    assert service["spec"]["ports"][0]["port"] == values["interceptor"]["proxy"]["port"]
    assert (
        f"{charts.KEDA_HTTP.name}-{values['interceptor']['proxy']['service']}"
        == scale_to_zero.INTERCEPTOR_PROXY
    )
    # Traefik follows ExternalName Services only when told to.
    traefik = plan.helm_release("traefik").inputs["values"]
    assert traefik["providers"]["kubernetesIngress"]["allowExternalNameServices"] is True


def test_the_interceptor_may_reach_the_pods(plan: Plan) -> None:
    policy = plan.k8s_object("NetworkPolicy", "inference")
    sources = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in policy["spec"]["ingress"]
        for peer in rule["from"]
    }
    assert scale_to_zero.KEDA_NAMESPACE in sources


def test_the_http_scaled_object_targets_the_deployment_and_service_from_zero(plan: Plan) -> None:
    spec = http_scaled_object(plan)["spec"]
    deployment = plan.k8s_object("Deployment", "inference")
    service = plan.k8s_object("Service", "inference")
    target = spec["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert target["service"] == service["metadata"]["name"]
    assert target["portName"] in {p["name"] for p in service["spec"]["ports"]}
    assert spec["replicas"] == {"min": 0, "max": 4}
    assert spec["scaledownPeriod"] == 9 * 60
    # The failover answers at the setting (480 s); the add-on's own limit a little later.
    assert spec["timeouts"]["conditionWait"] == "485s"


def test_the_http_scaled_object_matches_the_pinned_crd(plan: Plan) -> None:
    jsonschema.validate(http_scaled_object(plan), crd_schema())


def test_the_crd_schema_catches_a_typo() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"spec": {"scaleTargetRef": {"service": 1}}}, crd_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"spec": {"scaleTargetRef": {"service": "s"}, "scaledownPeriood": 60}}, crd_schema()
        )


def test_the_hosts_follow_liftoff_ingress_host(plain: Plan, monitored: Plan) -> None:
    assert http_scaled_object(monitored)["spec"]["hosts"] == ["infer.example.com"]
    # No host: the add-on's catch-all, as the Ingress answers any host.
    assert "hosts" not in http_scaled_object(plain)["spec"]


def test_without_monitoring_the_add_on_alone_owns_the_replica_count(plain: Plan) -> None:
    kinds = {o["kind"] for o in plain.k8s_objects()}
    assert "HorizontalPodAutoscaler" not in kinds and "ScaledObject" not in kinds
    annotations = http_scaled_object(plain)["metadata"].get("annotations", {})
    assert scale_to_zero.SKIP_SCALED_OBJECT not in annotations


def test_with_monitoring_one_scaled_object_owns_it_with_the_request_count_as_a_trigger(
    monitored: Plan,
) -> None:
    kinds = [o["kind"] for o in monitored.k8s_objects()]
    assert kinds.count("ScaledObject") == 1 and "HorizontalPodAutoscaler" not in kinds
    annotations = http_scaled_object(monitored)["metadata"]["annotations"]
    assert annotations[scale_to_zero.SKIP_SCALED_OBJECT] == "true"
    spec = monitored.k8s_object("ScaledObject", "inference")["spec"]
    assert spec["minReplicaCount"] == 0 and spec["maxReplicaCount"] == 4
    assert spec["cooldownPeriod"] == 9 * 60
    (http,) = [t for t in spec["triggers"] if t["type"] == "external-push"]
    assert http["metadata"] == {
        "scalerAddress": "keda-add-ons-http-external-scaler.keda:9090",
        "httpScaledObject": http_scaled_object(monitored)["metadata"]["name"],
    }
    # KEDA scales to zero with a CPU trigger only beside one that is not CPU or memory.
    assert any(t["type"] not in ("cpu", "memory") for t in spec["triggers"])


def test_no_disruption_budget_holds_a_pod_up(plan: Plan) -> None:
    for budget in [o for o in plan.k8s_objects() if o["kind"] == "PodDisruptionBudget"]:
        spec = budget["spec"]
        assert "minAvailable" not in spec or spec["minAvailable"] in (0, "0%")
        assert spec.get("maxUnavailable", 1) not in (0, "0%")


def test_keda_and_the_http_add_on_are_installed_pinned_with_known_values(plan: Plan) -> None:
    for chart, values_file in [
        (charts.KEDA, "keda-2.20.2.values.yaml"),
        (charts.KEDA_HTTP, "keda-add-ons-http-0.15.0.values.yaml"),
    ]:
        assert chart.version in values_file
        release = plan.helm_release(chart.name)
        assert release.inputs["version"] == chart.version
        assert release.inputs["namespace"] == scale_to_zero.KEDA_NAMESPACE
        upstream = yaml.safe_load((UPSTREAM / values_file).read_text())
        assert_keys_known(release.inputs["values"], upstream, chart.name)


def test_the_add_on_holds_requests_as_long_as_the_setting(plan: Plan) -> None:
    values = plan.helm_release(charts.KEDA_HTTP.name).inputs["values"]
    assert values["interceptor"]["readinessTimeout"] == "485s"


def assert_keys_known(ours: Any, upstream: Any, where: str) -> None:
    """Every key Liftoff sets exists in the chart's values.yaml (a misspelt key is silently ignored)."""
    if not isinstance(ours, dict):
        return
    assert isinstance(upstream, dict), f"{where} is not a map in the chart's values"
    for key, value in ours.items():
        assert key in upstream, f"{where}.{key} is not a value of the pinned chart"
        assert_keys_known(value, upstream[key], f"{where}.{key}")


def test_the_values_check_catches_a_misspelt_key() -> None:
    with pytest.raises(AssertionError):
        assert_keys_known(
            {"interceptor": {"readinesTimeout": "1s"}}, {"interceptor": {"readinessTimeout": ""}}, "x"
        )


def test_every_object_still_validates(plan: Plan) -> None:
    assert_core_objects_validate(plan)
    checked = assert_custom_resources_match_their_crds(plan)
    assert "HTTPScaledObject" in {o["kind"] for o in checked}


def test_keeping_one_pod_renders_no_scale_to_zero_object(dev_plan: Plan) -> None:
    kinds = {o["kind"] for o in dev_plan.k8s_objects()}
    assert "HTTPScaledObject" not in kinds
    assert charts.KEDA_HTTP.name not in {r.inputs["chart"] for r in dev_plan.helm_releases()}
    assert (
        dev_plan.helm_release("traefik").inputs["values"]["providers"]["kubernetesIngress"][
            "allowExternalNameServices"
        ]
        is False
    )


DEFAULT_IDLE_S = 15 * 60
"""liftoff:idleMinutes' default (Pulumi.yaml), which the cloud stack files leave as is."""


@pytest.mark.parametrize("stack", ["aws", "gcp", "azure"])
def test_every_cloud_stack_renders_scale_to_zero(plan_for: PlanFor, stack: str) -> None:
    plan = plan_for(stack, {"minReplicas": 0})
    spec = http_scaled_object(plan)["spec"]
    assert spec["replicas"]["min"] == 0
    assert [o["kind"] for o in plan.k8s_objects()].count("ScaledObject") <= 1
    assert "HorizontalPodAutoscaler" not in {o["kind"] for o in plan.k8s_objects()}
    assert plan.helm_release(charts.KEDA_HTTP.name).inputs["version"] == charts.KEDA_HTTP.version
    # The rules the dev stack's tests hold, on each cloud's own plan: requests reach the interceptor, which
    # may reach the pods; the idle window is the setting on whichever object owns the replica count; no
    # PodDisruptionBudget keeps a pod up (which would block the last node's scale-down).
    test_the_ingress_routes_to_the_interceptor_which_points_at_its_proxy(plan)
    test_the_interceptor_may_reach_the_pods(plan)
    test_no_disruption_budget_holds_a_pod_up(plan)
    assert spec["scaledownPeriod"] == DEFAULT_IDLE_S
    # Each cloud stack file turns monitoring on, so Liftoff's ScaledObject owns the count there.
    scaled = plan.k8s_object("ScaledObject", "inference")["spec"]
    assert scaled["minReplicaCount"] == 0 and scaled["cooldownPeriod"] == DEFAULT_IDLE_S


def test_checkov_passes_the_scale_to_zero_objects(
    plain: Plan, monitored: Plan, tmp_path_factory: pytest.TempPathFactory
) -> None:
    report = checkov_report({"plain": plain, "monitored": monitored}, tmp_path_factory.mktemp("zero"))
    assert unjustified_failures(report) == []


def test_azure_keeps_a_held_connection_through_the_cold_start(plan_for: PlanFor) -> None:
    """Azure's load balancer resets a silent connection after 4 minutes unless told otherwise."""
    annotation = "service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout"
    held = plan_for("azure", {"minReplicas": 0, "coldStartTimeoutSeconds": 600})
    annotations = held.helm_release("traefik").inputs["values"]["service"]["annotations"]
    assert int(annotations[annotation]) * 60 > 600
    kept = (
        plan_for("azure", {"minReplicas": 1})
        .helm_release("traefik")
        .inputs["values"]["service"]["annotations"]
    )
    assert annotation not in kept


def test_a_cold_start_past_the_hold_fails_over_to_the_503_responder(plan: Plan) -> None:
    failover = http_scaled_object(plan)["spec"]["coldStartTimeoutFailoverRef"]
    assert failover["timeoutSeconds"] == ZERO["coldStartTimeoutSeconds"]
    service = plan.k8s_object("Service", scale_to_zero.COLD_START_RESPONDER)
    assert failover["service"] == service["metadata"]["name"]
    assert failover["port"] in {p["port"] for p in service["spec"]["ports"]}
    # The add-on's own limit comes later, so the responder, not a bare 504, answers a slow cold start.
    wait = http_scaled_object(plan)["spec"]["timeouts"]["conditionWait"]
    assert int(wait.rstrip("s")) > failover["timeoutSeconds"]


def test_the_responder_runs_the_same_image_off_the_gpu_pool_reachable_only_from_the_interceptor(
    plan: Plan,
) -> None:
    responder = plan.k8s_object("Deployment", scale_to_zero.COLD_START_RESPONDER)["spec"]["template"]["spec"]
    server = plan.k8s_object("Deployment", "inference")["spec"]["template"]["spec"]
    (container,) = responder["containers"]
    assert container["image"] == server["containers"][0]["image"]
    assert container["command"] == ["python", "-m", "service.cold_start"]
    assert "nvidia.com/gpu" not in str(container["resources"])
    assert not responder.get("tolerations")
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    selector = plan.k8s_object("Service", scale_to_zero.COLD_START_RESPONDER)["spec"]["selector"]
    assert (
        selector
        == plan.k8s_object("Deployment", scale_to_zero.COLD_START_RESPONDER)["spec"]["selector"][
            "matchLabels"
        ]
    )
    policy = plan.k8s_object("NetworkPolicy", scale_to_zero.COLD_START_RESPONDER)["spec"]
    sources = [f["namespaceSelector"]["matchLabels"] for rule in policy["ingress"] for f in rule["from"]]
    assert sources == [{"kubernetes.io/metadata.name": scale_to_zero.KEDA_NAMESPACE}]
