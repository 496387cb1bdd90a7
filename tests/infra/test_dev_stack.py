"""The dev stack under mocks: the rules a user relies on, on a CPU and a GPU variant of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from infra.addons import charts
from infra.plan import Plan, PlanError, run_stack
from infra.workload import pod

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "server.md"


@pytest.fixture(scope="module")
def cpu_plan(dev_plan: Plan) -> Plan:
    return dev_plan


@pytest.fixture(scope="module")
def gpu_plan(dev_gpu_plan: Plan) -> Plan:
    return dev_gpu_plan


def pod_spec(plan: Plan) -> dict[str, Any]:
    spec: dict[str, Any] = plan.k8s_object("Deployment", "inference")["spec"]["template"]["spec"]
    return spec


def server(plan: Plan) -> dict[str, Any]:
    (container,) = pod_spec(plan)["containers"]
    return container


def env(plan: Plan) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in server(plan)["env"]}


def test_gpu_pods_request_the_gpu_and_tolerate_the_gpu_taint(gpu_plan: Plan) -> None:
    container = server(gpu_plan)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod_spec(gpu_plan)[
        "tolerations"
    ]
    assert pod_spec(gpu_plan)["nodeSelector"] == {"gpu": "yes"}
    assert env(gpu_plan)["LIFTOFF_DEVICE"] == "cuda"


def test_cpu_pods_neither_request_nor_tolerate_gpus(cpu_plan: Plan) -> None:
    assert "nvidia.com/gpu" not in server(cpu_plan)["resources"]["limits"]
    assert "tolerations" not in pod_spec(cpu_plan)
    assert env(cpu_plan)["LIFTOFF_DEVICE"] == "cpu"


def contract_paths() -> set[str]:
    """The GET paths docs/server.md lists in its HTTP table."""
    return set(re.findall(r"`GET (/[^`]*)`", CONTRACT.read_text()))


def test_probes_hit_the_servers_real_paths_and_port(cpu_plan: Plan) -> None:
    container = server(cpu_plan)
    paths = contract_paths()
    assert {"/healthz", "/readyz"} <= paths
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        port = container[probe]["httpGet"]["port"]
        assert port == "http"
    assert container["ports"] == [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "metrics", "containerPort": pod.METRICS_PORT, "protocol": "TCP"},
        {"name": "grpc", "containerPort": 8081, "protocol": "TCP"},
    ]
    assert "LIFTOFF_PORT" in CONTRACT.read_text() and env(cpu_plan)["LIFTOFF_PORT"] == "8080"
    assert "LIFTOFF_GRPC_PORT" in CONTRACT.read_text() and env(cpu_plan)["LIFTOFF_GRPC_PORT"] == "8081"


def test_the_metrics_have_a_port_of_their_own_which_the_service_names(cpu_plan: Plan) -> None:
    """The server moves /metrics off the inference port when LIFTOFF_METRICS_PORT is set (the contract)."""
    ports = {p["name"]: p for p in server(cpu_plan)["ports"]}
    assert "`LIFTOFF_METRICS_PORT`" in CONTRACT.read_text()
    assert env(cpu_plan)["LIFTOFF_METRICS_PORT"] == str(ports["metrics"]["containerPort"])
    assert ports["metrics"]["containerPort"] != ports["http"]["containerPort"]
    service_ports = {p["name"]: p for p in cpu_plan.k8s_object("Service", "inference")["spec"]["ports"]}
    assert service_ports["metrics"]["targetPort"] == "metrics"
    assert service_ports["http"]["targetPort"] == "http"


def test_startup_probe_allows_the_configured_model_load_time(cpu_plan: Plan) -> None:
    startup = server(cpu_plan)["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600


def test_environment_names_exist_in_the_service_contract(cpu_plan: Plan) -> None:
    documented = set(re.findall(r"`(LIFTOFF_[A-Z_]+)`", CONTRACT.read_text()))
    assert {e["name"] for e in server(cpu_plan)["env"]} <= documented
    assert env(cpu_plan)["LIFTOFF_HOST"] == "0.0.0.0"


def test_the_image_is_pinned_by_digest(cpu_plan: Plan) -> None:
    image = server(cpu_plan)["image"]
    assert re.fullmatch(r"localhost:5001/liftoff@sha256:[0-9a-f]{64}", image)
    assert cpu_plan.outputs["imageDigest"] == image.split("@")[1]
    built = cpu_plan.one("docker-build:index:Image")
    assert built.inputs["buildArgs"] == {"VARIANT": "cpu"}
    assert built.inputs["platforms"] == ["linux/amd64"]


def test_a_gpu_stack_builds_the_cuda_variant(gpu_plan: Plan) -> None:
    assert gpu_plan.one("docker-build:index:Image").inputs["buildArgs"] == {"VARIANT": "cuda"}


def test_a_configured_image_skips_the_build() -> None:
    image = "registry.example.com/liftoff@sha256:" + "a" * 64
    plan = run_stack("dev", {"image": image})
    assert plan.by_type("docker-build:index:Image") == []
    assert server(plan)["image"] == image


def test_an_image_built_by_ci_is_copied_into_the_stack_registry_and_deployed_by_its_new_digest() -> None:
    source = "ghcr.io/example/liftoff@sha256:" + "b" * 64
    plan = run_stack("dev", {"imageSource": source})
    copied = plan.one("docker-build:index:Image")
    assert copied.inputs["dockerfile"] == {"inline": f"FROM {source}\n"}
    assert "buildArgs" not in copied.inputs
    assert copied.inputs["tags"] == ["localhost:5001/liftoff:ci-bbbbbbbbbbbb"]
    assert re.fullmatch(r"localhost:5001/liftoff@sha256:[0-9a-f]{64}", server(plan)["image"])


def test_rollouts_never_take_a_ready_pod_away(cpu_plan: Plan) -> None:
    strategy = cpu_plan.k8s_object("Deployment", "inference")["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def test_grace_period_outlasts_prestop_plus_drain(cpu_plan: Plan) -> None:
    pre_stop = server(cpu_plan)["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = int(env(cpu_plan)["LIFTOFF_DRAIN_TIMEOUT_S"])
    assert pod_spec(cpu_plan)["terminationGracePeriodSeconds"] > pre_stop + drain


def test_deployment_waits_long_enough_for_a_cold_gpu_node(cpu_plan: Plan) -> None:
    deployment = cpu_plan.k8s_object("Deployment", "inference")
    assert int(deployment["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) >= 1200
    assert deployment["spec"]["progressDeadlineSeconds"] >= 1200


def test_pods_run_non_root_read_only_without_capabilities(cpu_plan: Plan) -> None:
    context = server(cpu_plan)["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] == pod.RUN_AS == 10001
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in server(cpu_plan)["volumeMounts"]
    assert pod_spec(cpu_plan)["automountServiceAccountToken"] is False
    account = cpu_plan.k8s_object("ServiceAccount", "inference")
    assert account["automountServiceAccountToken"] is False


def test_namespace_enforces_the_restricted_pod_security_standard(cpu_plan: Plan) -> None:
    labels = cpu_plan.k8s_object("Namespace", "liftoff")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_pods_spread_over_zones_and_nodes(cpu_plan: Plan) -> None:
    keys = {c["topologyKey"] for c in pod_spec(cpu_plan)["topologySpreadConstraints"]}
    assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}


def admitted(plan: Plan) -> dict[int, set[str]]:
    """The server's NetworkPolicy: which namespaces may open connections to which port."""
    policy = plan.k8s_object("NetworkPolicy", "inference")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    sources: dict[int, set[str]] = {}
    for rule in policy["ingress"]:
        for port in rule["ports"]:
            assert port["protocol"] == "TCP"
            sources.setdefault(port["port"], set()).update(
                peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                for peer in rule["from"]
            )
    return sources


def test_network_policy_admits_the_ingress_controller_to_inference_and_only_prometheus_to_metrics(
    gpu_plan: Plan, cpu_plan: Plan
) -> None:
    # HTTP and gRPC from the ingress controller; the metrics port from Prometheus only.
    assert admitted(cpu_plan) == {8080: {"traefik"}, 8081: {"traefik"}}
    assert admitted(gpu_plan) == {8080: {"traefik"}, 8081: {"traefik"}, pod.METRICS_PORT: {"monitoring"}}


def test_without_monitoring_a_cpu_hpa_scales(cpu_plan: Plan) -> None:
    hpa = cpu_plan.k8s_object("HorizontalPodAutoscaler", "inference")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 2)
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert not [o for o in cpu_plan.k8s_objects() if o["kind"] in ("ScaledObject", "ServiceMonitor")]


def test_with_monitoring_keda_scales_on_queue_depth_latency_and_cpu(gpu_plan: Plan) -> None:
    assert not [o for o in gpu_plan.k8s_objects() if o["kind"] == "HorizontalPodAutoscaler"]
    triggers = gpu_plan.k8s_object("ScaledObject", "inference")["spec"]["triggers"]
    by_name = {t["name"]: t for t in triggers}
    assert "liftoff_queue_depth" in by_name["queue-depth-per-pod"]["metadata"]["query"]
    assert by_name["queue-depth-per-pod"]["metricType"] == "AverageValue"
    assert "histogram_quantile(0.95" in by_name["p95-latency"]["metadata"]["query"]
    assert "liftoff_request_duration_seconds_bucket" in by_name["p95-latency"]["metadata"]["query"]
    assert by_name["p95-latency"]["metadata"]["threshold"] == "0.25"
    assert by_name["cpu"]["type"] == "cpu"
    for trigger in ("queue-depth-per-pod", "p95-latency"):
        assert by_name[trigger]["metadata"]["serverAddress"] == "http://kps-prometheus.monitoring.svc:9090"


def test_with_monitoring_prometheus_scrapes_the_server_and_grafana_gets_a_dashboard(gpu_plan: Plan) -> None:
    monitor = gpu_plan.k8s_object("ServiceMonitor", "inference")["spec"]
    assert monitor["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s"}]
    dashboard = gpu_plan.k8s_object("ConfigMap", "inference-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "liftoff_queue_depth" in next(iter(dashboard["data"].values()))


def test_every_kubernetes_resource_has_the_explicit_provider(gpu_plan: Plan) -> None:
    (provider,) = gpu_plan.by_type("pulumi:providers:kubernetes")
    kubernetes = [r for r in gpu_plan.resources if r.type.startswith("kubernetes:")]
    assert len(kubernetes) > 10
    for resource in kubernetes:
        assert resource.provider_urn == provider.urn, (
            f"{resource.type} {resource.name} uses {resource.provider!r}"
        )


def test_ingress_routes_through_traefik_to_the_service(cpu_plan: Plan) -> None:
    ingress = cpu_plan.k8s_object("Ingress", "inference")["spec"]
    assert ingress["ingressClassName"] == "traefik"
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "inference", "port": {"name": "http"}}
    assert cpu_plan.outputs["url"] == "http://203.0.113.10/v2/models/digits/infer"


def test_stack_outputs_hold_the_kubeconfig_as_a_secret(cpu_plan: Plan) -> None:
    assert set(cpu_plan.outputs) >= {"url", "registry", "imageDigest", "kubeconfig", "clusterName"}
    assert cpu_plan.outputs["kubeconfig"] == "[secret]"
    assert cpu_plan.outputs["registry"] == "localhost:5001/liftoff"


def release_values(plan: Plan, chart: charts.Chart) -> dict[str, Any]:
    release = plan.helm_release(chart.name)
    assert release.inputs["version"] == chart.version
    assert release.inputs["repositoryOpts"]["repo"] == chart.repo
    values: dict[str, Any] = release.inputs["values"]
    return values


def test_addons_are_pinned_and_switched_by_settings(cpu_plan: Plan, gpu_plan: Plan) -> None:
    assert {r.inputs["chart"] for r in cpu_plan.helm_releases()} == {"traefik", "metrics-server"}
    assert {r.inputs["chart"] for r in gpu_plan.helm_releases()} == {
        "traefik",
        "metrics-server",
        "nvidia-device-plugin",
        "kube-prometheus-stack",
        "keda",
        "dcgm-exporter",
    }
    for release in gpu_plan.helm_releases():
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", release.inputs["version"])


def test_traefik_serves_the_ingress_class_behind_a_load_balancer(cpu_plan: Plan) -> None:
    values = release_values(cpu_plan, charts.TRAEFIK)
    assert values["service"]["type"] == "LoadBalancer"
    assert values["ingressClass"]["name"] == "traefik"
    assert values["providers"]["kubernetesIngress"]["enabled"] is True


def test_gpu_daemons_run_on_gpu_nodes_only(gpu_plan: Plan) -> None:
    for chart in (charts.NVIDIA_DEVICE_PLUGIN, charts.DCGM_EXPORTER):
        values = release_values(gpu_plan, chart)
        assert values["nodeSelector"] == {"gpu": "yes"}
        assert values["tolerations"] == [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]


def test_prometheus_finds_every_service_monitor_and_grafana_every_dashboard(gpu_plan: Plan) -> None:
    values = release_values(gpu_plan, charts.KUBE_PROMETHEUS_STACK)
    assert values["prometheus"]["prometheusSpec"]["serviceMonitorSelectorNilUsesHelmValues"] is False
    sidecar = values["grafana"]["sidecar"]["dashboards"]
    assert (sidecar["label"], sidecar["labelValue"]) == ("grafana_dashboard", "1")
    assert values["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    secret = gpu_plan.k8s_object("Secret", "grafana-admin")
    assert secret["stringData"]["admin-password"] == "[secret]"


def test_local_metrics_server_accepts_kind_kubelet_certificates(cpu_plan: Plan) -> None:
    assert release_values(cpu_plan, charts.METRICS_SERVER)["args"] == ["--kubelet-insecure-tls"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"cloud": "openstack"},
            "liftoff:cloud: 'openstack' is not allowed; allowed: aws, gcp, azure, local",
        ),
        ({"gpu": -1}, "liftoff:gpu: -1 is out of range; allowed: 0 to 16"),
        ({"minReplicas": 3, "maxReplicas": 2}, "liftoff:minReplicas: 3 is above liftoff:maxReplicas (2)"),
        ({"memoryRequest": "lots"}, "liftoff:memoryRequest: 'lots' is not a memory size"),
        ({"localRegistry": ""}, "liftoff:image: is required"),
    ],
)
def test_a_bad_stack_config_stops_the_plan_with_the_key_named(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(PlanError) as caught:
        run_stack("dev", overrides)
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_an_unknown_stack_names_the_stacks_there_are() -> None:
    with pytest.raises(PlanError, match=r"no Pulumi\.nope\.yaml; stacks: .*dev"):
        run_stack("nope")


def test_without_a_grafana_password_the_stack_generates_a_secret_one() -> None:
    plan = run_stack("dev", {"monitoring": True})
    (generated,) = [
        r
        for r in plan.by_type("random:index/randomPassword:RandomPassword")
        if r.name == "grafana-admin-password"
    ]
    assert generated.inputs["length"] >= 20
    assert plan.k8s_object("Secret", "grafana-admin")["stringData"]["admin-password"] == "[secret]"
    assert plan.outputs["grafanaAdminPassword"] == "[secret]"


def test_a_given_grafana_password_is_used_and_nothing_is_generated(gpu_plan: Plan) -> None:
    generated = {r.name for r in gpu_plan.by_type("random:index/randomPassword:RandomPassword")}
    assert generated == {"inference-api-key"}  # the API key, not Grafana's password


def test_helm_releases_set_no_deprecated_null_values_flag(dev_gpu_plan: Plan) -> None:
    releases = dev_gpu_plan.by_type("kubernetes:helm.sh/v3:Release")
    assert releases
    assert all("allowNullValues" not in release.inputs for release in releases)


def test_prometheus_scrapes_no_control_plane_component_a_managed_cluster_hides(dev_gpu_plan: Plan) -> None:
    values = release_values(dev_gpu_plan, charts.KUBE_PROMETHEUS_STACK)
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert values[component] == {"enabled": False}, component
