"""Plausible Google Cloud outputs for the offline plan: what GKE, IAM and the provider would report.

Resource names the engine would generate (auto-naming) are the logical name here; addresses come from the
documentation ranges, so nothing in a plan can be mistaken for a real endpoint.
"""

from __future__ import annotations

import base64
from typing import Any

import pulumi

CLUSTER_ENDPOINT = "203.0.113.20"
"""TEST-NET-3, never a real control plane."""
CLUSTER_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nplan\n-----END CERTIFICATE-----\n").decode()
ACCESS_TOKEN = "plan-access-token"  # noqa: S105 (a placeholder the plan shows as secret)


def _named(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"name": args.inputs.get("name") or args.name}


CLUSTER_DNS_ENDPOINT = "gke-plan.us-central1-a.gke.invalid"
"""The shape of GKE's DNS endpoint (`gke-<id>.<location>.gke.goog`), in a TLD that never resolves."""

CONTROL_PLANE_PRIVATE_IP = "10.10.0.2"
"""In the node subnet (gcpSubnetCidr's default), as GKE puts a Private Service Connect endpoint."""


def _cluster(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    master_auth = dict(args.inputs.get("masterAuth") or {})
    master_auth["clusterCaCertificate"] = CLUSTER_CA
    private = {**(args.inputs.get("privateClusterConfig") or {}), "privateEndpoint": CONTROL_PLANE_PRIVATE_IP}
    return {
        **_named(args),
        "endpoint": CLUSTER_ENDPOINT,
        "masterAuth": master_auth,
        "privateClusterConfig": private,
        "controlPlaneEndpointsConfig": _endpoints(args.inputs.get("controlPlaneEndpointsConfig") or {}),
    }


def _endpoints(requested: dict[str, Any]) -> dict[str, Any]:
    dns = {**(requested.get("dnsEndpointConfig") or {}), "endpoint": CLUSTER_DNS_ENDPOINT}
    return {**requested, "dnsEndpointConfig": dns}


def _service_account(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    project = args.inputs.get("project", "plan-project")
    email = f"{args.inputs.get('accountId', args.name)}@{project}.iam.gserviceaccount.com"
    return {
        "email": email,
        "member": f"serviceAccount:{email}",
        "name": f"projects/{project}/serviceAccounts/{email}",
    }


def _repository(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"name": args.inputs.get("repositoryId", args.name)}


def _client_config(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return {
        "accessToken": ACCESS_TOKEN,
        "project": "plan-project",
        "region": "us-central1",
        "zone": "us-central1-a",
        "id": "plan-client",
    }


RESOURCES = {
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _named,
    "gcp:compute/network:Network": _named,
    "gcp:compute/subnetwork:Subnetwork": _named,
    "gcp:compute/router:Router": _named,
    "gcp:compute/routerNat:RouterNat": _named,
    "gcp:serviceaccount/account:Account": _service_account,
    "gcp:artifactregistry/repository:Repository": _repository,
}

CALLS = {"gcp:organizations/getClientConfig:getClientConfig": _client_config}
