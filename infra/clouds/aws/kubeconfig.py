"""A kubeconfig for the new cluster that holds no credential: `aws eks get-token` makes a short-lived token
from whoever runs Pulumi (their access entry decides what they may do)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


def render_kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """JSON (which is YAML) so that kubectl, the Kubernetes provider and our tests all read it."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority},
                }
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": EXEC_API_VERSION,
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        },
        indent=2,
    )


def cluster_kubeconfig(cluster: aws.eks.Cluster, region: str) -> pulumi.Output[str]:
    certificate_authority = cluster.certificate_authority.apply(lambda ca: field(ca, "data"))
    kubeconfig = pulumi.Output.all(cluster.name, cluster.endpoint, certificate_authority).apply(
        lambda values: render_kubeconfig(values[0], values[1], values[2], region)
    )
    return pulumi.Output.secret(kubeconfig)


def field(value: Any, name: str) -> Any:
    """A field of a provider output object. Nested outputs arrive as typed objects or, inside lists and
    `Output.all`, as plain dicts (keyed by the Python name); both read the same here."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)
