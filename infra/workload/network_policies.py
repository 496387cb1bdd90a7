"""The inference namespace's NetworkPolicies: everything closed, then only what the service needs.

Default deny for every pod in the namespace, both directions. The server then admits the ingress controller
(the only path from the internet, and it routes only the public paths), the KEDA HTTP interceptor when
scaling to zero (it forwards what Traefik sends it) and, with monitoring, Prometheus (the only reader of
`/metrics` besides the kubelet's probes, which NetworkPolicy does not filter). It may reach the
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
) -> dict[str, Any]:
    """`sources`: the namespaces that may open connections to the server's `ports` (HTTP, gRPC)."""
    egress: list[dict[str, Any]] = [
        # Cluster DNS runs in kube-system on every platform (CoreDNS, kube-dns, AKS's coredns).
        {"to": [from_namespace("kube-system")], "ports": DNS_PORTS}
    ]
    if egress_cidrs:
        egress.append({"to": [{"ipBlock": {"cidr": cidr}} for cidr in egress_cidrs]})
    return {
        "podSelector": {"matchLabels": labels},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [from_namespace(source) for source in sources],
                "ports": [{"port": port, "protocol": "TCP"} for port in ports],
            }
        ],
        "egress": egress,
    }
