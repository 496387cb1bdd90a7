"""ACR with the admin account off: the kubelet pulls through AcrPull, the deployer pushes through AcrPush
with an Entra ID token exchanged for an ACR token (`acr_token.py`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, containerregistry

from infra.clouds.azure.acr_token import ACR_TOKEN_USERNAME, AcrPushToken
from infra.clouds.azure.cluster import role_definition_id
from infra.clouds.azure.propagation import RolePropagation
from infra.clouds.azure.settings import AzureSettings
from infra.clouds.children import Children
from infra.clouds.platform import Registry

ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ACR_PUSH_ROLE = "8311e382-0749-4cb8-b61a-304f252e45ec"
REPOSITORY = "liftoff"


def registry_name(prefix: str, stack: str, subscription_id: str) -> str:
    """Globally unique, stable per subscription and stack: letters and digits only, 5 to 50 characters."""
    digest = hashlib.sha256(f"{subscription_id}/{stack}".encode()).hexdigest()[:8]
    base = re.sub(r"[^a-z0-9]", "", f"{prefix}{stack}".lower())[:42]
    return f"{base}{digest}"


@dataclass(frozen=True)
class ImageRegistry:
    registry: containerregistry.Registry
    kubelet_pull: authorization.RoleAssignment
    push_token: AcrPushToken
    push_credentials: Registry


def create_registry(
    name: str,
    *,
    settings: AzureSettings,
    resource_group_name: pulumi.Input[str],
    kubelet_object_id: pulumi.Input[str],
    client: pulumi.Output[authorization.GetClientConfigResult],
    children: Children,
) -> ImageRegistry:
    opts = children.opts()
    subscription_id = client.apply(lambda c: c.subscription_id)
    registry = containerregistry.Registry(
        name,
        registry_name=subscription_id.apply(
            lambda sub: registry_name(settings.name_prefix, pulumi.get_stack(), sub)
        ),
        resource_group_name=resource_group_name,
        location=settings.location,
        sku={"name": settings.acr_sku},
        admin_user_enabled=False,
        anonymous_pull_enabled=False,
        tags=dict(children.tags),
        opts=opts,
    )
    kubelet_pull = authorization.RoleAssignment(
        f"{name}-kubelet-pull",
        scope=registry.id,
        principal_id=kubelet_object_id,
        principal_type="ServicePrincipal",
        role_definition_id=role_definition_id(subscription_id, ACR_PULL_ROLE),
        description="liftoff: the AKS kubelet identity pulls the inference image",
        opts=opts,
    )
    push_depends: list[pulumi.Resource] = [registry]
    if settings.grant_deployer_roles:
        push_depends.append(
            authorization.RoleAssignment(
                f"{name}-deployer-push",
                scope=registry.id,
                principal_id=client.apply(lambda c: c.object_id),
                principal_type=settings.deployer_principal_type,
                role_definition_id=role_definition_id(subscription_id, ACR_PUSH_ROLE),
                description="liftoff: the identity running pulumi up pushes the inference image",
                opts=opts,
            )
        )
    if len(push_depends) > 1:
        # AcrPush is used seconds after it is granted: wait until Azure has propagated it.
        push_depends.append(
            RolePropagation(f"{name}-push-propagation", assignments=push_depends[1:], opts=children.opts())
        )
    push_token = AcrPushToken(
        f"{name}-push-token",
        login_server=registry.login_server,
        tenant_id=client.apply(lambda c: c.tenant_id),
        aad_token=authorization.get_client_token_output().apply(lambda t: t.token),
        opts=pulumi.ResourceOptions(parent=children.parent, depends_on=push_depends),
    )
    credentials = Registry(
        url=pulumi.Output.concat(registry.login_server, "/", REPOSITORY),
        username=ACR_TOKEN_USERNAME,
        password=pulumi.Output.secret(push_token.refresh_token),
    )
    return ImageRegistry(
        registry=registry, kubelet_pull=kubelet_pull, push_token=push_token, push_credentials=credentials
    )
