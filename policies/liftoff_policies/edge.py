"""The edge: a public Ingress has TLS, the inference server checks API keys, and no node hands
its cloud credentials to a pod. Where a stack chooses otherwise (no host yet, liftoff:auth false) the
program writes an explicit waiver annotation saying why, which is what these rules accept instead."""

from __future__ import annotations

from collections.abc import Iterator

from liftoff_policies.rule import Props, ResourceRule, dig

TLS_WAIVER = "liftoff.dev/plain-http"
"""On an Ingress: why it serves plain HTTP (no liftoff:ingressHost yet)."""
AUTH_WAIVER = "liftoff.dev/open-endpoint"
"""On the inference Deployment: why it takes no API keys (liftoff:auth false)."""
KEY_VARIABLES = {"LIFTOFF_API_KEYS", "LIFTOFF_API_KEYS_FILE"}
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"


def _annotation(props: Props, key: str) -> str:
    return str((dig(props, "metadata", "annotations") or {}).get(key) or "").strip()


def check_tls(resource_type: str, props: Props) -> Iterator[str]:
    if resource_type == INGRESS and not dig(props, "spec", "tls") and not _annotation(props, TLS_WAIVER):
        yield (
            "The Ingress serves plain HTTP: give it spec.tls (liftoff:ingressHost with liftoff:tlsEmail or "
            f"liftoff:tlsSecret) or say why not in the {TLS_WAIVER} annotation."
        )


def check_auth(resource_type: str, props: Props) -> Iterator[str]:
    # The model server itself; the cold-start responder (scale to zero) serves no model and needs no keys.
    labels = dig(props, "metadata", "labels") or {}
    if resource_type != DEPLOYMENT or labels.get("app.kubernetes.io/name") != "inference":
        return
    containers = dig(props, "spec", "template", "spec", "containers") or []
    names = {e.get("name") for c in containers for e in (c.get("env") or [])}
    if not names & KEY_VARIABLES and not _annotation(props, AUTH_WAIVER):
        yield (
            "The inference server checks no API keys: set LIFTOFF_API_KEYS_FILE (liftoff:auth true) or say why "
            f"not in the {AUTH_WAIVER} annotation."
        )


def check_node_credentials(resource_type: str, props: Props) -> Iterator[str]:
    if resource_type == LAUNCH_TEMPLATE:
        options = props.get("metadataOptions") or {}
        # IMDSv2 with one hop: the node's own processes reach it, a pod's packets (one hop more) do not.
        if options.get("httpTokens") != "required" or options.get("httpPutResponseHopLimit") != 1:
            yield (
                "The launch template lets pods reach the node role's credentials: set metadataOptions "
                "httpTokens=required and httpPutResponseHopLimit=1."
            )
    elif (
        resource_type == GKE_NODE_POOL
        and dig(props, "nodeConfig", "workloadMetadataConfig", "mode") != "GKE_METADATA"
    ):
        yield (
            "The node pool exposes the node's service account to pods: set nodeConfig."
            "workloadMetadataConfig.mode=GKE_METADATA (Workload Identity's metadata server)."
        )


TLS_RULE = ResourceRule("edge-tls", "A public Ingress has TLS or an explicit waiver.", check_tls)
AUTH_RULE = ResourceRule(
    "edge-auth", "The inference service checks API keys or has an explicit waiver.", check_auth
)
NODE_CREDENTIALS_RULE = ResourceRule(
    "node-credentials", "No node lets pods reach the instance's cloud credentials.", check_node_credentials
)
