"""The inference namespace's NetworkPolicies: everything closed, then only what the service needs.

Default deny for every pod in the namespace, both directions. The server then admits, to its inference port,
the ingress controller (the only path from the internet, and it routes only the public paths) and the KEDA
HTTP interceptor when scaling to zero (it forwards what Traefik sends it); and, with monitoring, Prometheus
to its metrics port alone (the only reader of `/metrics`, which the inference port does not serve; the
kubelet's probes are not filtered by NetworkPolicy). It may reach the
cluster DNS and the networks of liftoff:egressCidrs, nothing else: a compromised handler cannot call home or
reach the cloud's metadata address.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DNS_PORTS = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


def from_namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def default_deny_spec() -> dict[str, Any]:
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def server_spec(
    labels: dict[str, str],
    ports: Sequence[int],
    sources: Sequence[str],
    egress_cidrs: Sequence[str],
    metrics_port: int = 0,
    scrapers: Sequence[str] = (),
) -> dict[str, Any]:
    """`sources`: the namespaces that may open connections to the server's `ports` (HTTP, gRPC); `scrapers`:
    those that may open connections to its `metrics_port`, and to nothing else."""
    egress: list[dict[str, Any]] = [
        # Cluster DNS runs in kube-system on every platform (CoreDNS, kube-dns, AKS's coredns).
        {"to": [from_namespace("kube-system")], "ports": DNS_PORTS}
    ]
    if egress_cidrs:
        egress.append({"to": [{"ipBlock": {"cidr": cidr}} for cidr in egress_cidrs]})
    ingress: list[dict[str, Any]] = [
        {
            "from": [from_namespace(source) for source in sources],
            "ports": [{"port": port, "protocol": "TCP"} for port in ports],
        }
    ]
    if scrapers:
        if not metrics_port:
            raise ValueError("scrapers need the metrics port they may reach")
        ingress.append(
            {
                "from": [from_namespace(scraper) for scraper in scrapers],
                "ports": [{"port": metrics_port, "protocol": "TCP"}],
            }
        )
    return {
        "podSelector": {"matchLabels": labels},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": ingress,
        "egress": egress,
    }
