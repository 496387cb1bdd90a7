"""The edge's waivers: what the program writes when a stack chooses plain HTTP or no keys is what the policy
pack accepts, and the choice stays visible on the object."""

from __future__ import annotations

from liftoff_policies import edge

from infra.plan import run_stack
from infra.workload import inference_service, ingress
from tests.policies.plans import violations


def test_the_program_and_the_pack_name_the_same_waivers() -> None:
    assert ingress.PLAIN_HTTP_WAIVER == edge.TLS_WAIVER
    assert inference_service.OPEN_ENDPOINT_WAIVER == edge.AUTH_WAIVER


def test_an_open_endpoint_passes_only_with_its_waiver_written_on_the_deployment() -> None:
    plan = run_stack("dev", {"auth": False})
    deployment = plan.k8s_object("Deployment", "inference")
    assert deployment["metadata"]["annotations"][edge.AUTH_WAIVER] == "liftoff:auth is false"
    assert violations(plan) == []


def test_tls_needs_no_waiver_and_gets_none() -> None:
    plan = run_stack("dev", {"ingressHost": "models.example.com", "tlsSecret": "my-cert"})
    annotations = plan.k8s_object("Ingress", "inference")["metadata"]["annotations"]
    assert edge.TLS_WAIVER not in annotations
    assert violations(plan) == []
