"""A kubeconfig for the cluster that logs in with `gke-gcloud-auth-plugin` (no static credentials).

The plugin turns the caller's gcloud credentials into a short-lived token on each call, so the
kubeconfig holds nothing secret but the CA; it is still kept secret, as every kubeconfig output is.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_gcp as gcp

AUTH_PLUGIN = "gke-gcloud-auth-plugin"
INSTALL_HINT = (
    "kubectl and Pulumi log in to GKE with gke-gcloud-auth-plugin: `gcloud components install "
    "gke-gcloud-auth-plugin` (https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl)"
)


def render_kubeconfig(name: str, endpoint: str, ca_certificate: str) -> str:
    """The kubeconfig text (JSON, which is YAML) for one cluster, one user, one context."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {
                        "server": f"https://{endpoint}",
                        "certificate-authority-data": ca_certificate,
                    },
                }
            ],
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": AUTH_PLUGIN,
                            "installHint": INSTALL_HINT,
                            "provideClusterInfo": True,
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
        },
        indent=2,
    )


def cluster_kubeconfig(cluster: gcp.container.Cluster) -> pulumi.Output[str]:
    context = pulumi.Output.concat("gke_", cluster.project, "_", cluster.location, "_", cluster.name)
    return pulumi.Output.secret(
        pulumi.Output.all(context, cluster.endpoint, cluster.master_auth.cluster_ca_certificate).apply(
            lambda parts: render_kubeconfig(parts[0], parts[1], parts[2] or "")
        )
    )
