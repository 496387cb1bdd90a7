"""Plausible outputs of the Azure resources and functions the `azure` platform uses, for the offline plan.

The admin-credential functions of ACR and AKS answer with an error: the platform must never call them,
and a plan that reaches the end proves it did not.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pulumi
import yaml

SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
TENANT_ID = "00000000-0000-4000-8000-000000000002"
DEPLOYER_OBJECT_ID = "00000000-0000-4000-8000-000000000003"
KUBELET_OBJECT_ID = "00000000-0000-4000-8000-000000000004"
CLUSTER_PRINCIPAL_ID = "00000000-0000-4000-8000-000000000006"
MOCK_ACR_REFRESH_TOKEN = "mock-acr-refresh-token"  # noqa: S105 - a placeholder the plan prints as [secret]
FORBIDDEN_CALLS = (
    "azure-native:containerregistry:listRegistryCredentials",
    "azure-native:containerservice:listManagedClusterAdminCredentials",
)


def _resource_group(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"name": args.inputs.get("resourceGroupName") or args.name}


def _named(name_input: str) -> Any:
    """Azure resources report the name they were given (or were auto-named) as `name`."""

    def outputs(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        return {"name": args.inputs.get(name_input) or args.name}

    return outputs


def _managed_cluster(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = args.inputs.get("resourceName") or args.name
    location = args.inputs.get("location", "eastus")
    return {
        "name": name,
        "fqdn": f"{name}-dns.hcp.{location}.azmk8s.io",
        "identity": {
            **(args.inputs.get("identity") or {}),
            "principalId": CLUSTER_PRINCIPAL_ID,
            "tenantId": TENANT_ID,
        },
        "identityProfile": {
            "kubeletidentity": {
                "clientId": "00000000-0000-4000-8000-000000000005",
                "objectId": KUBELET_OBJECT_ID,
                "resourceId": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/MC_{name}/providers/"
                f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool",
            }
        },
        "oidcIssuerProfile": {
            "enabled": True,
            "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{TENANT_ID}/{SUBSCRIPTION_ID}/",
        },
    }


def _registry(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = args.inputs.get("registryName") or args.name
    return {
        "name": name,
        "loginServer": f"{name}.azurecr.io",
    }


def _acr_push_token(_args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"refresh_token": MOCK_ACR_REFRESH_TOKEN, "expires_on": 4102444800.0}


def _identity(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    seed = hashlib.sha256(args.name.encode()).hexdigest()
    uuid = f"{seed[:8]}-{seed[8:12]}-4{seed[13:16]}-8{seed[17:20]}-{seed[20:32]}"
    return {"name": args.name, "clientId": uuid, "principalId": uuid, "tenantId": TENANT_ID}


def _blob_container(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    group, account = args.inputs.get("resourceGroupName"), args.inputs.get("accountName")
    name = args.inputs.get("containerName") or args.name
    return {
        "name": name,
        "id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers/Microsoft.Storage/"
        f"storageAccounts/{account}/blobServices/default/containers/{name}",
    }


RESOURCES = {
    "azure-native:managedidentity:UserAssignedIdentity": _identity,
    "azure-native:storage:StorageAccount": _named("accountName"),
    "azure-native:storage:BlobContainer": _blob_container,
    "azure-native:resources:ResourceGroup": _resource_group,
    "azure-native:network:VirtualNetwork": _named("virtualNetworkName"),
    "azure-native:network:Subnet": _named("subnetName"),
    "azure-native:containerservice:ManagedCluster": _managed_cluster,
    "azure-native:containerservice:AgentPool": _named("agentPoolName"),
    "azure-native:containerregistry:Registry": _registry,
    "azure-native:authorization:RoleAssignment": _named("roleAssignmentName"),
    "pulumi-python:dynamic/liftoff:AcrPushToken": _acr_push_token,
}


def _client_config(_args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return {
        "clientId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "objectId": DEPLOYER_OBJECT_ID,
        "subscriptionId": SUBSCRIPTION_ID,
        "tenantId": TENANT_ID,
    }


def _user_credentials(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    """What AKS returns for `format=exec` on an Entra ID cluster: kubelogin in device-code mode."""
    name = args.args.get("resourceName", "cluster")
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {
                    "certificate-authority-data": base64.b64encode(b"mock CA").decode(),
                    "server": f"https://{name}-dns.hcp.eastus.azmk8s.io:443",
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"clusterUser_{name}"}}],
        "current-context": name,
        "users": [
            {
                "name": f"clusterUser_{name}",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": [
                            "get-token",
                            "--login",
                            "devicecode",
                            "--server-id",
                            "6dae42f8-4368-4678-94ff-3960e28e3630",
                        ],
                    }
                },
            }
        ],
    }
    value = base64.b64encode(yaml.safe_dump(kubeconfig).encode()).decode()
    return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}


def _forbidden(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    raise RuntimeError(f"{args.token} reads admin credentials; the azure platform must never call it")


CALLS = {
    "azure-native:authorization:getClientConfig": _client_config,
    "azure-native:authorization:getClientToken": lambda _args: {"token": "mock-entra-id-access-token"},
    "azure-native:containerservice:listManagedClusterUserCredentials": _user_credentials,
    **{token: _forbidden for token in FORBIDDEN_CALLS},
}
