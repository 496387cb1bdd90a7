"""A kubeconfig for an Entra ID cluster: the cluster's user credentials, signed in through kubelogin.

With local accounts disabled AKS hands out no certificate: `listClusterUserCredential` returns the
server and its CA, and each client gets an Entra ID token for the AKS server application. kubelogin's
`azurecli` mode takes that token from the deployer's `az login`, non-interactively, so the same
kubeconfig works for the Pulumi Kubernetes provider, for `kubectl`, and in CI after `azure/login`.
"""

from __future__ import annotations

import base64
from typing import Any

import pulumi
import yaml
from pulumi_azure_native import containerservice

# The Entra ID application every AKS cluster with managed Entra ID accepts tokens for.
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
KUBELOGIN_ARGS = ("get-token", "--login", "azurecli", "--server-id", AKS_SERVER_APP_ID)


def kubelogin_user() -> dict[str, Any]:
    """The kubeconfig `user` that runs `kubelogin get-token --login azurecli` (what `kubelogin
    convert-kubeconfig -l azurecli` writes)."""
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "kubelogin",
            "args": list(KUBELOGIN_ARGS),
            "env": None,
            "interactiveMode": "Never",
            "provideClusterInfo": False,
            "installHint": "kubelogin is required: `az aks install-cli` or https://azure.github.io/kubelogin",
        }
    }


def to_kubelogin(encoded_kubeconfig: str) -> str:
    """Rewrite every user of AKS's kubeconfig (base64, as the API returns it) to sign in with kubelogin."""
    config = yaml.safe_load(base64.b64decode(encoded_kubeconfig))
    if not isinstance(config, dict) or not config.get("clusters"):
        raise ValueError("AKS returned a kubeconfig without clusters")
    for entry in config.get("users") or []:
        entry["user"] = kubelogin_user()
    return yaml.safe_dump(config, sort_keys=False)


def user_kubeconfig(
    cluster: containerservice.ManagedCluster, resource_group_name: pulumi.Input[str]
) -> pulumi.Output[str]:
    """The cluster's user kubeconfig, converted for kubelogin; a secret like every kubeconfig."""
    credentials = containerservice.list_managed_cluster_user_credentials_output(
        resource_group_name=resource_group_name,
        resource_name=cluster.name,
        # "exec" asks for kubelogin's form; the users are rewritten anyway, to the non-interactive mode.
        format="exec",
    )
    return pulumi.Output.secret(credentials.kubeconfigs.apply(lambda configs: to_kubelogin(configs[0].value)))
