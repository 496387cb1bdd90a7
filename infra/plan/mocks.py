"""Plausible outputs for resources and provider functions, so the program runs offline.

The tables are keyed by type token. Each cloud adds its own in `infra/clouds/<cloud>/mocks.py`, a module
exporting `RESOURCES: dict[str, ResourceOutputs]` and `CALLS: dict[str, CallResult]`; every cloud's are merged
in on import. A resource's outputs are its inputs plus what its table entry adds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pulumi

from infra.clouds import CLOUDS, cloud_module

ResourceOutputs = Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]]
CallResult = Callable[[pulumi.runtime.MockCallArgs], dict[str, Any]]

LB_IP = "203.0.113.10"
"""TEST-NET-3: a load balancer address that can never be real."""


def fake_digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def _image(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    digest = fake_digest(args.name + repr(sorted(args.inputs.get("buildArgs", {}).items())))
    tags = args.inputs.get("tags") or []
    repository = tags[0].rsplit(":", 1)[0] if tags else args.name
    return {"digest": digest, "ref": f"{repository}@{digest}"}


def _service(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    spec = args.inputs.get("spec") or {}
    if spec.get("type", "LoadBalancer" if args.resource_id else "ClusterIP") != "LoadBalancer":
        return {}
    return {"status": {"loadBalancer": {"ingress": [{"ip": LB_IP}]}}}


def _helm_release(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = args.inputs.get("name") or args.name
    return {
        "status": {
            "name": name,
            "namespace": args.inputs.get("namespace", "default"),
            "chart": args.inputs.get("chart"),
            "version": args.inputs.get("version"),
            "status": "deployed",
            "revision": 1,
        }
    }


def _random_password(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"result": "x" * int(args.inputs.get("length", 16))}


RESOURCES: dict[str, ResourceOutputs] = {
    "docker-build:index:Image": _image,
    "random:index/randomPassword:RandomPassword": _random_password,
    "kubernetes:core/v1:Service": _service,
    "kubernetes:helm.sh/v3:Release": _helm_release,
}

CALLS: dict[str, CallResult] = {}


def _merge_cloud_tables() -> None:
    # The cloud modules import the type aliases above, so this runs once they exist.
    for cloud in CLOUDS:
        module = cloud_module(cloud, "mocks")
        RESOURCES.update(module.RESOURCES)
        CALLS.update(module.CALLS)


_merge_cloud_tables()


class PlanMocks(pulumi.runtime.Mocks):
    """Outputs = inputs + the table's additions; ids are `<name>-id`. Unknown calls answer {}, noted."""

    def __init__(self) -> None:
        self.unanswered_calls: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        extra = RESOURCES.get(args.typ)
        if extra is not None:
            outputs.update(extra(args))
        return args.resource_id or f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = CALLS.get(args.token)
        if answer is None:
            self.unanswered_calls.append(args.token)
            return {}, []
        return answer(args), []
