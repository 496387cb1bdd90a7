"""Schemas from the pinned charts themselves (tests/infra/upstream/, README there): the CRDs of the custom
resources Liftoff creates, made strict, and the charts' values."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

UPSTREAM = Path(__file__).with_name("upstream")
CRD_FILES = {
    ("traefik.io/v1alpha1", "Middleware"): "traefik-41.3.0.middlewares.crd.yaml",
    ("cert-manager.io/v1", "ClusterIssuer"): "cert-manager-v1.21.1.clusterissuers.crd.yaml",
}


def strict(schema: Any) -> Any:
    """The schema with unknown fields refused, as `kubectl apply --validate=strict` (the API server's
    strict field validation) does: a structural CRD schema would otherwise prune a typo silently."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    made = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in made
        and "additionalProperties" not in made
        and not made.get("x-kubernetes-preserve-unknown-fields")
    ):
        made["additionalProperties"] = False
    return made


@cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The strict openAPIV3Schema of `kind` at `api_version`, from the CRD its pinned chart installs."""
    crd = yaml.safe_load((UPSTREAM / CRD_FILES[(api_version, kind)]).read_text())
    group, version = api_version.split("/")
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind
    (found,) = [v for v in crd["spec"]["versions"] if v["name"] == version and v["served"]]
    schema: dict[str, Any] = strict(found["schema"]["openAPIV3Schema"])
    # metadata is `type: object` in a CRD; the API server checks it as ObjectMeta. Name and labels suffice.
    schema["properties"]["metadata"] = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "namespace": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "additionalProperties": False,
    }
    return schema


def chart_file(name: str) -> Any:
    text = (UPSTREAM / name).read_text()
    return yaml.safe_load(text) if name.endswith(".yaml") else __import__("json").loads(text)


PASS_THROUGH = {"service.spec"}
"""Maps a chart copies into an object whole (Traefik's `service.spec`: "added to the Service spec"), whose
default may hold an entry or two: below them anything goes."""


def unknown_value_keys(values: dict[str, Any], defaults: Any, prefix: str = "") -> list[str]:
    """Keys of `values` that the chart's values.yaml does not have. Below a key whose default is an empty
    map (`service.spec: {}`), or one in PASS_THROUGH, anything goes: the chart passes it through."""
    unknown = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if not isinstance(defaults, dict) or key not in defaults:
            unknown.append(path)
        elif isinstance(value, dict) and defaults[key] not in ({}, None) and path not in PASS_THROUGH:
            unknown += unknown_value_keys(value, defaults[key], f"{path}.")
    return unknown
