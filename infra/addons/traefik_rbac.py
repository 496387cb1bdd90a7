"""Traefik's Kubernetes rights, in place of the chart's ClusterRole, which reads every Secret in the cluster.

Cluster-wide Traefik reads only what is not secret and has no namespace: IngressClasses (which Ingresses are
its own), Nodes and Namespaces. Secrets, Services, EndpointSlices, Ingresses and its Middlewares it reads by a
Role in its own namespace and in the inference service's, the only namespaces it watches
(`providers.*.namespaces`). The chart's namespaced mode (`rbac.namespaced`) is no way out: it also turns off
IngressClass lookups, and Traefik then drops every Ingress that names its class.
"""

from __future__ import annotations

from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

SERVICE_ACCOUNT = "traefik"
"""The account the chart creates for release `traefik` (its fullname) when `serviceAccount.name` is empty."""
RBAC_GROUP = "rbac.authorization.k8s.io"
CLUSTER_ROLE = "traefik-cluster-scope"
NAMESPACE_ROLE = "traefik-watch"
READ = ["get", "list", "watch"]

CLUSTER_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses"], "verbs": READ},
    {"apiGroups": [""], "resources": ["nodes", "namespaces"], "verbs": READ},
]
NAMESPACE_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["configmaps", "services", "secrets"], "verbs": READ},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": READ},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]},
    {
        "apiGroups": ["traefik.io"],
        "resources": [
            "ingressroutes",
            "ingressroutetcps",
            "ingressrouteudps",
            "middlewares",
            "middlewaretcps",
            "serverstransports",
            "serverstransporttcps",
            "tlsoptions",
            "tlsstores",
            "traefikservices",
        ],
        "verbs": READ,
    },
]


def subjects(traefik_namespace: str) -> list[dict[str, str]]:
    return [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": traefik_namespace}]


def cluster_access(traefik_namespace: str, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    role = k8s.rbac.v1.ClusterRole(
        CLUSTER_ROLE, metadata={"name": CLUSTER_ROLE}, rules=cast(Any, CLUSTER_RULES), opts=opts
    )
    binding = k8s.rbac.v1.ClusterRoleBinding(
        CLUSTER_ROLE,
        metadata={"name": CLUSTER_ROLE},
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group=RBAC_GROUP, kind="ClusterRole", name=CLUSTER_ROLE),
        subjects=cast(Any, subjects(traefik_namespace)),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role])),
    )
    return [role, binding]


def namespace_access(
    name: str, namespace: str, traefik_namespace: str, opts: pulumi.ResourceOptions
) -> list[pulumi.Resource]:
    """The Role and its binding that let Traefik watch `namespace`; `opts` must wait for the namespace."""
    role = k8s.rbac.v1.Role(
        f"{name}-traefik-watch",
        metadata={"name": NAMESPACE_ROLE, "namespace": namespace},
        rules=cast(Any, NAMESPACE_RULES),
        opts=opts,
    )
    binding = k8s.rbac.v1.RoleBinding(
        f"{name}-traefik-watch",
        metadata={"name": NAMESPACE_ROLE, "namespace": namespace},
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group=RBAC_GROUP, kind="Role", name=NAMESPACE_ROLE),
        subjects=cast(Any, subjects(traefik_namespace)),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role])),
    )
    return [role, binding]
