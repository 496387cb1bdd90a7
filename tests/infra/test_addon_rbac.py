"""What the add-ons may read in the cluster, from the rendered objects and chart values: the internet-facing
Traefik and Grafana's dashboard sidecar see Secrets only where they must, never cluster-wide, and
Traefik's ExternalName routing (scale to zero) is open to the service's namespace only."""

from __future__ import annotations

from typing import Any

import pytest

from infra.addons import charts, traefik_rbac
from infra.plan import Plan
from tests.infra.conftest import DEV_GPU_MONITORING, PlanFor

NAMESPACE = "models"
"""A service namespace other than the default, so a value that ignores the setting shows."""
ZERO = {"minReplicas": 0, "maxReplicas": 4, "namespace": NAMESPACE}


@pytest.fixture(scope="module")
def monitored(plan_for: PlanFor) -> Plan:
    return plan_for("dev", {**DEV_GPU_MONITORING, **ZERO})


def grants_secrets(rules: list[dict[str, Any]]) -> bool:
    return any(
        "" in rule.get("apiGroups", []) and ({"secrets", "*"} & set(rule.get("resources", [])))
        for rule in rules
    )


def bound_to(plan: Plan, account: str, account_namespace: str) -> list[dict[str, Any]]:
    """Every Role and ClusterRole the plan binds to that service account."""
    roles = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in plan.k8s_objects()
    }
    found = []
    for binding in plan.k8s_objects():
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if {"kind": "ServiceAccount", "name": account, "namespace": account_namespace} not in binding[
            "subjects"
        ]:
            continue
        ref = binding["roleRef"]
        where = binding["metadata"].get("namespace") if ref["kind"] == "Role" else None
        found.append(roles[(ref["kind"], where, ref["name"])])
    return found


def test_traefik_reads_secrets_only_in_its_own_namespace_and_the_services(monitored: Plan) -> None:
    values = monitored.helm_release(charts.TRAEFIK.name).inputs["values"]
    assert values["rbac"] == {"enabled": False}, "the chart's ClusterRole reads every Secret in the cluster"
    roles = bound_to(monitored, traefik_rbac.SERVICE_ACCOUNT, "traefik")
    cluster_wide = [r for r in roles if r["kind"] == "ClusterRole"]
    assert cluster_wide and not any(grants_secrets(r["rules"]) for r in cluster_wide)
    with_secrets = {
        r["metadata"]["namespace"] for r in roles if r["kind"] == "Role" and grants_secrets(r["rules"])
    }
    assert with_secrets == {"traefik", NAMESPACE}, "not monitoring (grafana-admin), not kube-system"
    # It still finds its own Ingresses: IngressClasses are read cluster-wide.
    assert any("ingressclasses" in rule["resources"] for r in cluster_wide for rule in r["rules"]), (
        "without IngressClass lookups Traefik drops every Ingress that names its class"
    )


def test_traefik_watches_only_the_services_namespace(monitored: Plan) -> None:
    providers = monitored.helm_release(charts.TRAEFIK.name).inputs["values"]["providers"]
    assert providers["kubernetesIngress"]["namespaces"] == [NAMESPACE]
    assert providers["kubernetesCRD"]["namespaces"] == [NAMESPACE]


def test_external_name_services_are_allowed_only_for_the_services_namespace(monitored: Plan) -> None:
    """Scale to zero routes through an ExternalName Service; any other namespace's Ingress must not be able
    to point Traefik at an arbitrary host that way."""
    ingress = monitored.helm_release(charts.TRAEFIK.name).inputs["values"]["providers"]["kubernetesIngress"]
    assert ingress["allowExternalNameServices"] is True
    assert ingress["namespaces"] == [NAMESPACE]


def test_external_name_services_stay_off_without_scale_to_zero(dev_plan: Plan) -> None:
    ingress = dev_plan.helm_release(charts.TRAEFIK.name).inputs["values"]["providers"]["kubernetesIngress"]
    assert ingress["allowExternalNameServices"] is False


def test_grafanas_dashboard_sidecar_reads_config_maps_of_the_services_namespace_only(monitored: Plan) -> None:
    grafana = monitored.helm_release(charts.KUBE_PROMETHEUS_STACK.name).inputs["values"]["grafana"]
    dashboards = grafana["sidecar"]["dashboards"]
    assert dashboards["searchNamespace"] == [NAMESPACE], "not ALL"
    assert dashboards["resource"] == "configmap", "the sidecar never lists Secrets"
    assert grafana["rbac"] == {"namespaced": True, "namespaces": [NAMESPACE]}, "Roles, no ClusterRole"
    # The dashboard it must find is where it looks.
    dashboard = next(
        o
        for o in monitored.k8s_objects()
        if o["kind"] == "ConfigMap" and "grafana_dashboard" in o["metadata"].get("labels", {})
    )
    assert dashboard["metadata"]["namespace"] == NAMESPACE
