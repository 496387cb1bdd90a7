"""Plausible outputs of the AWS resources and functions the `aws` platform uses, for the offline plan.

Only what AWS computes and the program reads back: ARNs, the cluster's endpoint and OIDC issuer, the node
group's Auto Scaling group, the repository URL, and the answers of the data sources. Account 123456789012 and
the addresses are documentation values that can never be real.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pulumi

if TYPE_CHECKING:
    # Annotations only: infra/plan/mocks.py imports this module while it loads.
    from infra.plan.mocks import CallResult, ResourceOutputs

ACCOUNT_ID = "123456789012"
DEPLOYER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/liftoff-deployer"
_region = {"name": "us-east-1"}
"""The region of the last AWS provider the program created (its resources' ARNs and URLs use it)."""


def _provider(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    _region["name"] = args.inputs.get("region") or _region["name"]
    return {}


def _arn(service: str, resource: str, region: bool = True) -> str:
    return f"arn:aws:{service}:{_region['name'] if region else ''}:{ACCOUNT_ID}:{resource}"


def _named(args: pulumi.runtime.MockResourceArgs) -> str:
    return str(args.inputs.get("name") or f"{args.name}-mock")


def _cluster(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = _named(args)
    issuer_id = "0123456789ABCDEF0123456789ABCDEF"
    return {
        "arn": _arn("eks", f"cluster/{name}"),
        "endpoint": f"https://{issuer_id}.gr7.{_region['name']}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(b"mock certificate authority").decode()},
        "identities": [
            {"oidcs": [{"issuer": f"https://oidc.eks.{_region['name']}.amazonaws.com/id/{issuer_id}"}]}
        ],
        "status": "ACTIVE",
    }


def _node_group(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {
        "arn": _arn("eks", f"nodegroup/{args.inputs.get('clusterName')}/{args.name}/mock"),
        "resources": [{"autoscalingGroups": [{"name": f"eks-{args.name}-mock-asg"}]}],
        "status": "ACTIVE",
    }


def _role(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = _named(args)
    return {"arn": _arn("iam", f"role/{name}", region=False), "name": name}


def _key(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    key_id = f"mock-{args.name}"
    return {"arn": _arn("kms", f"key/{key_id}"), "keyId": key_id}


def _repository(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = _named(args)
    return {
        "arn": _arn("ecr", f"repository/{name}"),
        "registryId": ACCOUNT_ID,
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{_region['name']}.amazonaws.com/{name}",
    }


def _oidc_provider(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    url = str(args.inputs.get("url", "")).removeprefix("https://")
    return {"arn": _arn("iam", f"oidc-provider/{url}", region=False)}


def _launch_template(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"latestVersion": 1, "arn": _arn("ec2", f"launch-template/lt-{args.name}")}


def _bucket(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = args.inputs.get("bucket") or f"{args.inputs.get('bucketPrefix', '')}{args.name}-mock"
    return {"bucket": name, "arn": f"arn:aws:s3:::{name}"}


RESOURCES: dict[str, ResourceOutputs] = {
    "aws:s3/bucket:Bucket": _bucket,
    "pulumi:providers:aws": _provider,
    "aws:eks/cluster:Cluster": _cluster,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:iam/role:Role": _role,
    "aws:kms/key:Key": _key,
    "aws:ecr/repository:Repository": _repository,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
}


def _zones(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    region = _region["name"]
    letters = "abcdef"
    return {
        "id": region,
        "names": [f"{region}{letter}" for letter in letters],
        "zoneIds": [f"use1-az{index}" for index in range(1, len(letters) + 1)],
        "groupNames": [region] * len(letters),
        "state": "available",
    }


GPU_ZONE_IDS = ["use1-az2", "use1-az4", "use1-az6"]
"""Where the mock region offers the GPU instance type (az3 too would be refused by EKS)."""


def _offerings(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return {
        "id": "offerings",
        "locations": GPU_ZONE_IDS,
        "locationTypes": ["availability-zone-id"] * 3,
        "instanceTypes": ["g5.xlarge"] * 3,
    }


def _caller(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/liftoff-deployer/mock-session",
        "id": ACCOUNT_ID,
        "userId": "AROAMOCKMOCKMOCKMOCK:mock-session",
    }


def _session_context(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return {
        "arn": args.args.get("arn"),
        "id": args.args.get("arn"),
        "issuerArn": DEPLOYER_ROLE_ARN,
        "issuerId": "AROAMOCKMOCKMOCKMOCK",
        "issuerName": "liftoff-deployer",
        "sessionName": "mock-session",
    }


def _ecr_token(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return {
        "id": _region["name"],
        "authorizationToken": base64.b64encode(b"AWS:mock-ecr-password").decode(),
        "userName": "AWS",
        "password": "mock-ecr-password",
        "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{_region['name']}.amazonaws.com",
        "expiresAt": "2030-01-01T00:00:00Z",
    }


def _addon_version(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    """EKS's default version of an add-on for a minor: a recognisable stand-in, `v<minor>-mock-<name>`."""
    name, minor = args.args.get("addonName"), args.args.get("kubernetesVersion")
    return {"addonName": name, "kubernetesVersion": minor, "version": f"v{minor}-mock-{name}"}


CALLS: dict[str, CallResult] = {
    "aws:eks/getAddonVersion:getAddonVersion": _addon_version,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _zones,
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": _offerings,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller,
    "aws:iam/getSessionContext:getSessionContext": _session_context,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": _ecr_token,
}
