"""No IAM policy, role binding or role assignment grants everything."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from liftoff_policies.documents import as_list, policy_documents, statements
from liftoff_policies.rule import Props, ResourceRule, dig

AWS_POLICY_DOCUMENTS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
    "aws:iam/role:Role": "inlinePolicies",
}
AWS_ATTACHMENTS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
}
GCP_PROJECT_GRANTS = {
    "gcp:projects/iAMMember:IAMMember",
    "gcp:projects/iAMBinding:IAMBinding",
    "gcp:organizations/iAMMember:IAMMember",
    "gcp:organizations/iAMBinding:IAMBinding",
}
GCP_BROAD_ROLES = {
    "roles/owner",
    "roles/editor",
    "roles/iam.securityAdmin",
    "roles/resourcemanager.projectIamAdmin",
}
# Built-in Azure roles that can do anything in their scope (Owner, Contributor, User Access Administrator).
AZURE_BROAD_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}
K8S_BINDINGS = {
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
}
K8S_ROLES = {
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
}


def _allows_everything(document: dict[str, Any]) -> bool:
    for statement in statements(document):
        if statement.get("Effect") != "Allow":
            continue
        actions = {str(a) for a in as_list(statement.get("Action", []))}
        resources = {str(r) for r in as_list(statement.get("Resource", []))}
        if actions & {"*", "*:*"} and "*" in resources:
            return True
    return False


def check(resource_type: str, props: Props) -> Iterator[str]:
    if resource_type in AWS_POLICY_DOCUMENTS:
        for document in policy_documents(props.get(AWS_POLICY_DOCUMENTS[resource_type])):
            if _allows_everything(document):
                yield "The IAM policy allows every action on every resource: list the actions and resources it needs."
    elif resource_type in AWS_ATTACHMENTS:
        if str(props.get("policyArn", "")).endswith(":policy/AdministratorAccess"):
            yield "AdministratorAccess is attached: attach a policy limited to what this identity needs."
    elif resource_type in GCP_PROJECT_GRANTS:
        if props.get("role") in GCP_BROAD_ROLES:
            yield f"The project grant of {props.get('role')} is far broader than needed: grant a narrower role."
    elif resource_type == "azure-native:authorization:RoleAssignment":
        role_id = str(props.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower()
        if role_id in AZURE_BROAD_ROLES:
            yield f"The role assignment grants {AZURE_BROAD_ROLES[role_id]}: assign a narrower built-in role."
    elif resource_type in K8S_BINDINGS:
        if dig(props, "roleRef", "name") == "cluster-admin":
            yield "The binding grants cluster-admin: bind a Role with only the verbs and resources needed."
    elif resource_type in K8S_ROLES:
        for rule in props.get("rules") or []:
            if "*" in (rule.get("verbs") or []) and "*" in (rule.get("resources") or []):
                yield "The role allows every verb on every resource: list the verbs and resources it needs."


RULE = ResourceRule(
    name="no-grant-of-everything",
    description="No IAM policy, role binding or role assignment grants every action on every resource.",
    check=check,
)
