"""The edge under mocks: API keys in a mounted Secret, only the public routes on the Ingress,
TLS by cert-manager, Traefik's limits, NetworkPolicies closed by default, and the warnings `pulumi up` shows.
What must hold on every stack is asserted on dev, aws, gcp and azure alike (`stack_plan`, `tls_plan`)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.addons import charts
from infra.plan import Plan, PlanError, run_stack
from infra.workload import api_keys
from tests.infra.conftest import DEV_TLS

HOST = DEV_TLS["ingressHost"]
STACKS = ("dev", "aws", "gcp", "azure")


@pytest.fixture(params=STACKS)
def stack_plan(request: pytest.FixtureRequest) -> Plan:
    """Each stack as committed (no host); run_stack caches a plan, so the cloud tests share these."""
    return run_stack(request.param)


@pytest.fixture(params=STACKS)
def tls_plan(request: pytest.FixtureRequest) -> Plan:
    """Each stack with a host and a Let's Encrypt certificate (DEV_TLS)."""
    return run_stack(request.param, DEV_TLS)


def pod_spec(plan: Plan) -> dict[str, Any]:
    spec: dict[str, Any] = plan.k8s_object("Deployment", "inference")["spec"]["template"]["spec"]
    return spec


def env(plan: Plan) -> dict[str, str]:
    (container,) = pod_spec(plan)["containers"]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def routed(plan: Plan) -> dict[str, str]:
    (rule,) = plan.k8s_object("Ingress", "inference")["spec"]["rules"]
    return {p["path"]: p["pathType"] for p in rule["http"]["paths"]}


def middlewares(plan: Plan) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in plan.k8s_objects() if o["kind"] == "Middleware"}


def test_the_ingress_publishes_only_the_inference_and_metadata_routes(stack_plan: Plan) -> None:
    assert routed(stack_plan) == {
        "/v2": "Exact",
        "/v2/models": "Prefix",
        "/predict": "Exact",
        "/v1/models": "Prefix",
        "/predictions": "Prefix",
    }


def test_public_docs_adds_the_docs_and_nothing_else() -> None:
    plan = run_stack("dev", {"publicDocs": True})
    assert routed(plan) == {
        "/v2": "Exact",
        "/v2/models": "Prefix",
        "/predict": "Exact",
        "/v1/models": "Prefix",
        "/predictions": "Prefix",
        "/docs": "Prefix",
        "/openapi.json": "Exact",
    }


def test_keys_are_generated_into_a_secret_the_server_reads_as_its_key_file(stack_plan: Plan) -> None:
    generated = stack_plan.one("random:index/randomPassword:RandomPassword", "inference-api-key")
    assert generated.inputs["length"] >= 32
    secret = stack_plan.k8s_object("Secret", api_keys.SECRET_NAME)
    assert secret["metadata"]["namespace"] == "liftoff"
    assert secret["stringData"] == {"keys": "[secret]"}
    spec = pod_spec(stack_plan)
    (volume,) = [v for v in spec["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == api_keys.SECRET_NAME
    (container,) = spec["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    # A directory mount (no subPath): the kubelet updates it when the Secret changes, so keys rotate.
    assert "subPath" not in mount and mount["readOnly"] is True
    assert env(stack_plan)["LIFTOFF_API_KEYS_FILE"] == f"{mount['mountPath']}/keys"
    assert "LIFTOFF_API_KEYS" not in env(stack_plan)
    assert stack_plan.outputs["apiKey"] == "[secret]"


def test_configured_keys_are_used_and_none_is_generated() -> None:
    plan = run_stack("dev", {"apiKeys": ["k" * 24, "j" * 24]})
    assert plan.by_type("random:index/randomPassword:RandomPassword") == []
    assert plan.k8s_object("Secret", api_keys.SECRET_NAME)["stringData"] == {"keys": "[secret]"}
    assert plan.outputs["apiKey"] == "[secret]"


def test_auth_off_mounts_no_keys_and_exports_none() -> None:
    plan = run_stack("dev", {"auth": False})
    assert not [o for o in plan.k8s_objects() if o["kind"] == "Secret"]
    assert "LIFTOFF_API_KEYS_FILE" not in env(plan)
    assert "apiKey" not in plan.outputs
    assert plan.by_type("random:index/randomPassword:RandomPassword") == []
    # `pulumi up` says so.
    (warning,) = [w for w in plan.warnings if "liftoff:auth" in w]
    assert "liftoff:auth is false: anyone who finds the address can call the model" in warning


def test_every_request_passes_the_rate_and_body_limits_at_traefik(dev_plan: Plan) -> None:
    found = middlewares(dev_plan)
    limit = found["inference-rate-limit"]["spec"]["rateLimit"]
    assert (limit["average"], limit["burst"], limit["period"]) == (100, 200, "1s")
    assert found["inference-body-limit"]["spec"]["buffering"]["maxRequestBodyBytes"] == 8 * 1024 * 1024
    annotations = dev_plan.k8s_object("Ingress", "inference")["metadata"]["annotations"]
    chain = annotations["traefik.ingress.kubernetes.io/router.middlewares"].split(",")
    # Each reference names a Middleware of the Ingress's own namespace, as Traefik spells it.
    assert sorted(chain) == sorted(f"liftoff-{name}@kubernetescrd" for name in found)
    assert chain[0] == "liftoff-inference-rate-limit@kubernetescrd"  # counted before a body is buffered
    values = dev_plan.helm_release("traefik").inputs["values"]
    assert values["providers"]["kubernetesCRD"]["enabled"] is True
    assert values["service"]["spec"]["externalTrafficPolicy"] == "Local"


def test_a_request_whose_pod_died_with_it_is_replayed_from_traefiks_buffer_not_by_the_retry_middleware(
    dev_plan: Plan,
) -> None:
    # Traefik v3.6's Retry middleware gives up once the request reached the pod (docs/notes/hardening.md): the
    # buffering middleware replays it on the 502 that a pod closing or resetting the connection leaves.
    found = middlewares(dev_plan)
    buffering = found["inference-body-limit"]["spec"]["buffering"]
    assert buffering["retryExpression"] == "IsNetworkError() && Attempts() <= 2"
    assert not [name for name, spec in found.items() if "retry" in spec["spec"]]


def test_the_limits_follow_the_settings() -> None:
    plan = run_stack("dev", {"rateLimitPerSecond": 7, "rateLimitBurst": 9, "maxBodyBytes": 4096})
    found = middlewares(plan)
    assert found["inference-rate-limit"]["spec"]["rateLimit"]["average"] == 7
    assert found["inference-rate-limit"]["spec"]["rateLimit"]["burst"] == 9
    assert found["inference-body-limit"]["spec"]["buffering"]["maxRequestBodyBytes"] == 4096


def test_without_a_host_there_is_no_tls_and_the_url_says_http(stack_plan: Plan) -> None:
    assert "tls" not in stack_plan.k8s_object("Ingress", "inference")["spec"]
    assert "inference-hsts" not in middlewares(stack_plan)
    assert stack_plan.outputs["url"].startswith("http://")
    assert "ports" not in stack_plan.helm_release("traefik").inputs["values"]
    assert "cert-manager" not in {r.inputs["chart"] for r in stack_plan.helm_releases()}


def test_a_host_and_email_get_a_lets_encrypt_certificate_https_redirect_and_hsts(tls_plan: Plan) -> None:
    release = tls_plan.helm_release("cert-manager")
    assert (release.inputs["version"], release.inputs["repositoryOpts"]["repo"]) == (
        charts.CERT_MANAGER.version,
        charts.CERT_MANAGER.repo,
    )
    issuer = tls_plan.k8s_object("ClusterIssuer", "liftoff-letsencrypt")["spec"]["acme"]
    assert issuer["email"] == "ops@example.com"
    assert issuer["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert issuer["solvers"] == [{"http01": {"ingress": {"ingressClassName": "traefik"}}}]
    ingress = tls_plan.k8s_object("Ingress", "inference")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "liftoff-letsencrypt"
    assert ingress["spec"]["tls"] == [{"hosts": [HOST], "secretName": "inference-tls"}]
    assert ingress["spec"]["rules"][0]["host"] == HOST
    redirect = tls_plan.helm_release("traefik").inputs["values"]["ports"]["web"]["http"]["redirections"]
    assert redirect == {"entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}
    assert middlewares(tls_plan)["inference-hsts"]["spec"]["headers"]["stsSeconds"] >= 31_536_000
    assert tls_plan.outputs["url"] == f"https://{HOST}/v2/models/digits/infer"


def test_a_users_certificate_secret_is_used_without_cert_manager() -> None:
    plan = run_stack("dev", {"ingressHost": HOST, "tlsSecret": "my-cert"})
    assert plan.k8s_object("Ingress", "inference")["spec"]["tls"] == [
        {"hosts": [HOST], "secretName": "my-cert"}
    ]
    assert "cert-manager" not in {r.inputs["chart"] for r in plan.helm_releases()}
    assert not [o for o in plan.k8s_objects() if o["kind"] == "ClusterIssuer"]
    assert plan.outputs["url"].startswith("https://")
    assert plain_http_warnings(plan) == []


def plain_http_warnings(plan: Plan) -> list[str]:
    return [w for w in plan.warnings if "plain HTTP" in w]


def test_without_a_host_pulumi_up_warns_that_traffic_is_plain_http_and_how_to_add_one(
    stack_plan: Plan,
) -> None:
    (warning,) = plain_http_warnings(stack_plan)
    assert warning.startswith("No liftoff:ingressHost: traffic, API keys included, travels as plain HTTP")
    # How: a DNS record at the load balancer, then the host and a certificate.
    for step in (
        "DNS record",
        "load balancer",
        "liftoff:ingressHost",
        "liftoff:tlsEmail",
        "liftoff:tlsSecret",
    ):
        assert step in warning
    # Auth is on by default: no warning that the endpoint is open.
    assert not [w for w in stack_plan.warnings if "liftoff:auth" in w]


def test_a_host_with_a_certificate_gets_no_warning_about_plain_http_or_open_access(tls_plan: Plan) -> None:
    assert plain_http_warnings(tls_plan) == []
    assert not [w for w in tls_plan.warnings if "liftoff:auth" in w]


def test_a_host_without_a_certificate_warns_that_traffic_to_it_is_plain_http() -> None:
    plan = run_stack("dev", {"ingressHost": HOST})
    assert "tls" not in plan.k8s_object("Ingress", "inference")["spec"]
    assert plan.outputs["url"] == f"http://{HOST}/v2/models/digits/infer"
    (warning,) = plain_http_warnings(plan)
    assert f"liftoff:ingressHost {HOST} has no certificate" in warning
    assert "liftoff:tlsEmail" in warning and "liftoff:tlsSecret" in warning


def test_the_namespace_denies_all_traffic_by_default(stack_plan: Plan) -> None:
    deny = stack_plan.k8s_object("NetworkPolicy", "inference-default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_the_server_may_reach_the_cluster_dns_and_nothing_else_by_default(stack_plan: Plan) -> None:
    (dns,) = stack_plan.k8s_object("NetworkPolicy", "inference")["spec"]["egress"]
    assert dns["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
    ]
    assert dns["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


def test_egress_cidrs_open_exactly_those_networks() -> None:
    plan = run_stack("dev", {"egressCidrs": ["10.0.0.0/8", "192.0.2.0/24"]})
    _, extra = plan.k8s_object("NetworkPolicy", "inference")["spec"]["egress"]
    assert extra == {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}, {"ipBlock": {"cidr": "192.0.2.0/24"}}]}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tlsEmail": "ops@example.com"}, "liftoff:tlsEmail: needs liftoff:ingressHost"),
        ({"tlsSecret": "my-cert"}, "liftoff:tlsSecret: needs liftoff:ingressHost"),
        (
            {"ingressHost": HOST, "tlsEmail": "ops@example.com", "tlsSecret": "my-cert"},
            "liftoff:tlsSecret: cannot be set together with liftoff:tlsEmail",
        ),
        ({"ingressHost": HOST, "tlsEmail": "not-an-email"}, "liftoff:tlsEmail: 'not-an-email' must match"),
        ({"rateLimitPerSecond": 0}, "liftoff:rateLimitPerSecond: 0 is out of range"),
        ({"egressCidrs": ["10.0.0.1/8"]}, "liftoff:egressCidrs"),
    ],
)
def test_a_bad_edge_setting_stops_the_plan_naming_the_key(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(PlanError) as caught:
        run_stack("dev", overrides)
    assert message in str(caught.value)


def test_a_malformed_api_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(PlanError) as caught:
        run_stack("dev", {"apiKeys": ["short-key-secret"[:8]]})
    assert "liftoff:apiKeys" in str(caught.value)
    assert "short-ke" not in str(caught.value)


def _published(path: str, rules: dict[str, str]) -> bool:
    """Whether Kubernetes' Ingress matching sends `path` on: Exact, or Prefix by whole path segments."""
    return any(
        path == rule or (kind == "Prefix" and path.startswith(rule.rstrip("/") + "/"))
        for rule, kind in rules.items()
    )


def test_the_published_paths_follow_the_servers_route_table(stack_plan: Plan) -> None:
    from service.api.routes import ROUTES

    rules = routed(stack_plan)
    published = {r.path for r in ROUTES if _published(r.path.replace("{name}", "digits"), rules)}
    for inference in (
        "/v2/models/{name}/infer",
        "/predict",
        "/v1/models/{name}:predict",
        "/v2/models/{name}",
        "/predictions/{name}",
    ):
        assert inference in published
    for private in (
        "/metrics",
        "/healthz",
        "/readyz",
        "/v2/health/ready",
        "/v2/health/live",
        "/docs",
        "/ping",
    ):
        assert private not in published
