"""A kubeconfig for the cluster that logs in with `gke-gcloud-auth-plugin` (no static credentials).

The plugin turns the caller's gcloud credentials into a short-lived token on each call, so the
kubeconfig holds nothing secret but the CA; it is still kept secret, as every kubeconfig output is.

With the DNS-based endpoint on (`liftoff:gcpDnsEndpoint`), the server is the cluster's
`gke-....gke.goog` name rather than its IP: it answers from any network, and checks each request's Google
token against IAM. Its certificate is publicly trusted, so that kubeconfig carries no CA (as
`gcloud container clusters get-credentials --dns-endpoint` writes it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_gcp as gcp

AUTH_PLUGIN = "gke-gcloud-auth-plugin"
INSTALL_HINT = (
    "kubectl and Pulumi log in to GKE with gke-gcloud-auth-plugin: `gcloud components install "
    "gke-gcloud-auth-plugin` (https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl)"
)


def render_kubeconfig(name: str, endpoint: str, ca_certificate: str | None) -> str:
    """The kubeconfig text (JSON, which is YAML) for one cluster, one user, one context; no CA: the
    server's certificate is publicly trusted (the DNS endpoint)."""
    server: dict[str, str] = {"server": f"https://{endpoint}"}
    if ca_certificate is not None:
        server["certificate-authority-data"] = ca_certificate
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": server}],
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


def kubeconfig_for(
    context: str,
    ip_endpoint: str,
    ca_certificate: str | None,
    endpoints: gcp.container.outputs.ClusterControlPlaneEndpointsConfig | None,
    *,
    use_dns_endpoint: bool,
) -> str:
    """The kubeconfig from the cluster's resolved outputs: its DNS endpoint when asked (and no CA: a
    publicly trusted certificate), else its IP endpoint with the cluster CA."""
    if not use_dns_endpoint:
        return render_kubeconfig(context, ip_endpoint, ca_certificate or "")
    name = _dns_name(endpoints)
    if not name:
        raise ValueError("liftoff:gcpDnsEndpoint is on but GKE reported no DNS endpoint for the cluster")
    return render_kubeconfig(context, name, None)


def _dns_name(endpoints: Any) -> str | None:
    """`dnsEndpointConfig.endpoint`, from the provider's output type or, as some engines hand nested
    outputs to `apply`, a plain mapping."""
    if endpoints is None:
        return None
    if isinstance(endpoints, Mapping):
        dns = endpoints.get("dns_endpoint_config") or endpoints.get("dnsEndpointConfig") or {}
        return dns.get("endpoint") if isinstance(dns, Mapping) else None
    dns = getattr(endpoints, "dns_endpoint_config", None)
    return getattr(dns, "endpoint", None) if dns is not None else None


def cluster_kubeconfig(cluster: gcp.container.Cluster, *, use_dns_endpoint: bool) -> pulumi.Output[str]:
    context = pulumi.Output.concat("gke_", cluster.project, "_", cluster.location, "_", cluster.name)
    return pulumi.Output.secret(
        pulumi.Output.all(
            context,
            cluster.endpoint,
            cluster.master_auth.cluster_ca_certificate,
            cluster.control_plane_endpoints_config,
        ).apply(lambda parts: kubeconfig_for(*parts, use_dns_endpoint=use_dns_endpoint))
    )
