"""Every Kubernetes object the dev stack creates validates against the Kubernetes 1.33 OpenAPI schema,
strictly (an unknown field fails). Custom resources are not in that schema: they are checked against the
fields their CRDs define: KEDA 2.17 and prometheus-operator written out below, Traefik's Middleware and
cert-manager's ClusterIssuer read from the CRDs their pinned charts install (tests/infra/upstream/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from infra.addons import charts
from infra.addons.component import cert_manager_values
from infra.plan import Plan
from tests.infra.upstream_schemas import CRD_FILES, chart_file, crd_schema, unknown_value_keys

KUBERNETES_VERSION = "1.33.0"
"""The oldest version the stacks pin; kubernetes-validate ships its schema."""

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_LABEL_SELECTOR = {
    "type": "object",
    "properties": {"matchLabels": _STRING_MAP, "matchExpressions": {"type": "array"}},
    "additionalProperties": False,
}
_METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": _STRING_MAP},
}
CUSTOM_RESOURCE_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    # keda.sh/v1alpha1 ScaledObject: the spec fields of KEDA's CRD that Liftoff uses.
    ("keda.sh/v1alpha1", "ScaledObject"): {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "metadata": _METADATA,
            "spec": {
                "type": "object",
                "required": ["scaleTargetRef", "triggers"],
                "additionalProperties": False,
                "properties": {
                    "scaleTargetRef": {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": False,
                        "properties": {k: {"type": "string"} for k in ("apiVersion", "kind", "name")},
                    },
                    "minReplicaCount": {"type": "integer", "minimum": 0},
                    "maxReplicaCount": {"type": "integer", "minimum": 1},
                    "pollingInterval": {"type": "integer"},
                    "cooldownPeriod": {"type": "integer"},
                    "advanced": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "horizontalPodAutoscalerConfig": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {"behavior": {"type": "object"}, "name": {"type": "string"}},
                            },
                            "restoreToOriginalReplicaCount": {"type": "boolean"},
                        },
                    },
                    "triggers": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["type", "metadata"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {"type": "string"},
                                "name": {"type": "string"},
                                "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                                "metadata": _STRING_MAP,
                            },
                        },
                    },
                },
            },
        },
    },
    # monitoring.coreos.com/v1 ServiceMonitor: the spec fields of prometheus-operator's CRD Liftoff uses.
    ("monitoring.coreos.com/v1", "ServiceMonitor"): {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "metadata": _METADATA,
            "spec": {
                "type": "object",
                "required": ["selector", "endpoints"],
                "additionalProperties": False,
                "properties": {
                    "selector": _LABEL_SELECTOR,
                    "namespaceSelector": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "matchNames": {"type": "array", "items": {"type": "string"}},
                            "any": {"type": "boolean"},
                        },
                    },
                    "endpoints": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "port": {"type": "string"},
                                "path": {"type": "string", "pattern": "^/"},
                                "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            },
                        },
                    },
                },
            },
        },
    },
}


def upstream_crd_schema(path: Path) -> dict[str, Any]:
    """The openAPIV3Schema of a CRD copied from a chart's templates (its first and last lines are the
    template's `{{- if ... }}` and `{{- end }}`), its one served version."""
    lines = path.read_text().splitlines()
    assert lines[0].startswith("{{") and lines[-1].startswith("{{")
    (version,) = yaml.safe_load("\n".join(lines[1:-1]))["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return _strict(schema)


def _strict(schema: Any) -> Any:
    """Unknown fields fail, as with `kubectl apply --validate=strict` (the API server would prune them)."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if "properties" in strict and "additionalProperties" not in strict:
        strict["additionalProperties"] = False
    return strict


# http.keda.sh/v1alpha1 HTTPScaledObject (scale to zero): the pinned add-on's own CRD, whole.
CUSTOM_RESOURCE_SCHEMAS[("http.keda.sh/v1alpha1", "HTTPScaledObject")] = upstream_crd_schema(
    Path(__file__).parent / "upstream" / "keda" / "crd-httpscaledobjects-0.15.0.yaml"
)


CUSTOM_RESOURCE_SCHEMAS |= {key: crd_schema(*key) for key in CRD_FILES}


@pytest.fixture(params=["dev_plan", "dev_gpu_plan", "dev_tls_plan"])
def plan(request: pytest.FixtureRequest) -> Plan:
    """The dev stack, its GPU variant with monitoring, and with a host and TLS (every optional object)."""
    found: Plan = request.getfixturevalue(request.param)
    return found


def test_kubernetes_validate_ships_the_pinned_version() -> None:
    assert kubernetes_validate.validate(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, KUBERNETES_VERSION, strict=True
    )


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The check below can fail: a typo in a field is caught."""
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "dataa": {}},
            KUBERNETES_VERSION,
            strict=True,
        )


def assert_core_objects_validate(plan: Plan, version: str = KUBERNETES_VERSION) -> None:
    """Every object of the core API validates strictly (an unknown field fails) against `version`.
    The cloud stacks' tests call this with the version their stack pins."""
    core = [o for o in plan.k8s_objects() if (o["apiVersion"], o["kind"]) not in CUSTOM_RESOURCE_SCHEMAS]
    assert {o["kind"] for o in core} >= {"Namespace", "Deployment", "Service", "Ingress", "NetworkPolicy"}
    for obj in core:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")


def assert_custom_resources_match_their_crds(plan: Plan) -> list[dict[str, Any]]:
    """Every custom resource matches the fields its CRD defines; returns the ones checked."""
    custom = [o for o in plan.k8s_objects() if (o["apiVersion"], o["kind"]) in CUSTOM_RESOURCE_SCHEMAS]
    for obj in custom:
        jsonschema.validate(obj, CUSTOM_RESOURCE_SCHEMAS[(obj["apiVersion"], obj["kind"])])
    return custom


def test_every_core_object_validates_strictly(plan: Plan) -> None:
    assert_core_objects_validate(plan)


def test_every_custom_resource_matches_its_crd_fields(plan: Plan) -> None:
    assert_custom_resources_match_their_crds(plan)
    kinds_without_schema = {
        (o["apiVersion"], o["kind"])
        for o in plan.k8s_objects()
        if "." in o["apiVersion"].split("/")[0]
        and not o["apiVersion"].split("/")[0].endswith("k8s.io")
        and (o["apiVersion"], o["kind"]) not in CUSTOM_RESOURCE_SCHEMAS
    }
    assert not kinds_without_schema, "custom resources nobody validates"


def test_the_crd_schemas_catch_a_typo() -> None:
    obj = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {"selector": {}, "endpoints": [{"port": "http", "pth": "/metrics"}]},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(obj, CUSTOM_RESOURCE_SCHEMAS[("monitoring.coreos.com/v1", "ServiceMonitor")])


def test_the_middleware_crd_schema_catches_a_typo() -> None:
    obj = {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "Middleware",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {"rateLimit": {"avrage": 100}},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(obj, CUSTOM_RESOURCE_SCHEMAS[("traefik.io/v1alpha1", "Middleware")])
    obj["spec"] = {"rateLimit": {"average": 100}}
    jsonschema.validate(obj, CUSTOM_RESOURCE_SCHEMAS[("traefik.io/v1alpha1", "Middleware")])


def test_the_tls_plan_has_the_middlewares_and_cluster_issuer_checked(dev_tls_plan: Plan) -> None:
    kinds = {o["kind"] for o in assert_custom_resources_match_their_crds(dev_tls_plan)}
    assert kinds == {"Middleware", "ClusterIssuer"}


def test_traefik_values_are_keys_of_the_pinned_chart(dev_tls_plan: Plan) -> None:
    assert charts.TRAEFIK.version == "41.3.0", "update tests/infra/upstream/ with the pin"
    values = dev_tls_plan.helm_release("traefik").inputs["values"]
    assert unknown_value_keys(values, chart_file("traefik-41.3.0.values.yaml")) == []
    jsonschema.validate(values, chart_file("traefik-41.3.0.values.schema.json"))
    assert unknown_value_keys({"providers": {"kubernetesCRDs": {}}}, chart_file("traefik-41.3.0.values.yaml"))


def test_cert_manager_values_match_the_pinned_charts_schema() -> None:
    assert charts.CERT_MANAGER.version == "v1.21.1", "update tests/infra/upstream/ with the pin"
    schema = chart_file("cert-manager-v1.21.1.values.schema.json")
    jsonschema.validate(cert_manager_values(), schema)
    assert unknown_value_keys(cert_manager_values(), chart_file("cert-manager-v1.21.1.values.yaml")) == []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"installCRD": True}, schema)


def test_traefik_values_without_tls_are_keys_of_the_pinned_chart(dev_plan: Plan) -> None:
    values = dev_plan.helm_release("traefik").inputs["values"]
    assert "ports" not in values
    assert unknown_value_keys(values, chart_file("traefik-41.3.0.values.yaml")) == []
