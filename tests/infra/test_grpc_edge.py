"""gRPC in the cluster, on every stack: the pods listen on LIFTOFF_GRPC_PORT, the Service carries
it as h2c, Traefik reaches it through an h2c Service of its own and a second Ingress for the one gRPC service
path, with the HTTP edge's host, certificate and rate limit, and the NetworkPolicy admits it from Traefik."""

from __future__ import annotations

from typing import Any

import pytest

from infra.plan import Plan, run_stack
from infra.workload import grpc_edge, ingress

HOST = "models.example.com"
STACKS = ["dev", "aws", "gcp", "azure"]


@pytest.fixture(scope="module", params=STACKS)
def stack_plan(request: pytest.FixtureRequest) -> Plan:
    return run_stack(request.param)


def grpc_ingress(plan: Plan) -> dict[str, Any]:
    found: dict[str, Any] = plan.k8s_object("Ingress", "inference-grpc")
    return found


def test_the_pods_serve_grpc_and_the_service_carries_it_as_h2c(stack_plan: Plan) -> None:
    pod: dict[str, Any] = stack_plan.k8s_object("Deployment", "inference")["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["grpc"] == int(env["LIFTOFF_GRPC_PORT"]) == 8081
    service = stack_plan.k8s_object("Service", "inference")["spec"]
    by_name = {p["name"]: p for p in service["ports"]}
    assert by_name["grpc"] == {
        "name": "grpc",
        "port": 8081,
        "targetPort": "grpc",
        "protocol": "TCP",
        "appProtocol": "kubernetes.io/h2c",
    }
    assert "appProtocol" not in by_name["http"]  # uvicorn speaks HTTP/1.1 only
    traefik_facing = stack_plan.k8s_object("Service", "inference-grpc")
    # Traefik's Ingress provider reads the scheme from the Service, for all its ports: hence its own Service.
    assert traefik_facing["metadata"]["annotations"] == {grpc_edge.SCHEME_ANNOTATION: "h2c"}
    assert traefik_facing["spec"]["ports"] == [by_name["grpc"]]
    assert traefik_facing["spec"]["selector"] == service["selector"] == pod["metadata"]["labels"]


def test_the_grpc_ingress_routes_only_the_inference_service_with_the_rate_limit(stack_plan: Plan) -> None:
    spec = grpc_ingress(stack_plan)["spec"]
    (rule,) = spec["rules"]
    assert rule["http"]["paths"] == [
        {
            "path": "/inference.GRPCInferenceService",
            "pathType": "Prefix",
            "backend": {"service": {"name": "inference-grpc", "port": {"name": "grpc"}}},
        }
    ]  # the health service stays inside the cluster: it answers without a key
    http_spec = stack_plan.k8s_object("Ingress", "inference")["spec"]
    assert spec["ingressClassName"] == http_spec["ingressClassName"]
    middlewares = grpc_ingress(stack_plan)["metadata"]["annotations"][
        "traefik.ingress.kubernetes.io/router.middlewares"
    ]
    assert middlewares == "liftoff-inference-rate-limit@kubernetescrd"  # no buffering, no retry
    assert "inference-rate-limit" in {
        o["metadata"]["name"] for o in stack_plan.k8s_objects() if o["kind"] == "Middleware"
    }


def test_the_network_policy_admits_the_grpc_port_from_traefik(stack_plan: Plan) -> None:
    rules = stack_plan.k8s_object("NetworkPolicy", "inference")["spec"]["ingress"]
    (rule,) = [rule for rule in rules if {"port": 8081, "protocol": "TCP"} in rule["ports"]]
    sources = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for peer in rule["from"]
    }
    assert "traefik" in sources


def test_without_tls_the_grpc_ingress_carries_the_plain_http_waiver(dev_plan: Plan) -> None:
    found = grpc_ingress(dev_plan)
    assert "tls" not in found["spec"] and "host" not in found["spec"]["rules"][0]
    assert ingress.PLAIN_HTTP_WAIVER in found["metadata"]["annotations"]


def test_with_tls_grpc_shares_the_host_and_certificate_and_gets_hsts(dev_tls_plan: Plan) -> None:
    found = grpc_ingress(dev_tls_plan)
    http = dev_tls_plan.k8s_object("Ingress", "inference")
    assert found["spec"]["rules"][0]["host"] == http["spec"]["rules"][0]["host"] == HOST
    assert (
        found["spec"]["tls"] == http["spec"]["tls"] == [{"hosts": [HOST], "secretName": ingress.TLS_SECRET}]
    )
    annotations = found["metadata"]["annotations"]
    # cert-manager makes the Certificate for the HTTP Ingress only: two owners of one Secret would fight.
    assert "cert-manager.io/cluster-issuer" not in annotations
    assert "cert-manager.io/cluster-issuer" in http["metadata"]["annotations"]
    assert ingress.PLAIN_HTTP_WAIVER not in annotations
    assert annotations["traefik.ingress.kubernetes.io/router.middlewares"] == (
        "liftoff-inference-rate-limit@kubernetescrd,liftoff-inference-hsts@kubernetescrd"
    )


def test_a_users_certificate_secret_serves_grpc_too() -> None:
    plan = run_stack("dev", {"ingressHost": HOST, "tlsSecret": "my-cert"})
    assert grpc_ingress(plan)["spec"]["tls"] == [{"hosts": [HOST], "secretName": "my-cert"}]
