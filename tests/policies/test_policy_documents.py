"""IAM-style policy documents are read however a resource holds them: JSON text, one statement or a list,
inline policies of a role."""

from __future__ import annotations

import json

from liftoff_policies import access, registries

EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def test_a_role_inline_policy_that_allows_everything_is_caught() -> None:
    inline = [
        {
            "name": "ok",
            "policy": json.dumps(
                {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
            ),
        },
        {"name": "bad", "policy": json.dumps({"Statement": EVERYTHING})},
    ]
    found = list(access.check("aws:iam/role:Role", {"inlinePolicies": inline}))
    assert found == [
        "The IAM policy allows every action on every resource: list the actions and resources it needs."
    ]


def test_a_deny_of_everything_is_not_a_grant() -> None:
    document = json.dumps({"Statement": [{**EVERYTHING, "Effect": "Deny"}]})
    assert list(access.check("aws:iam/policy:Policy", {"policy": document})) == []


def test_an_ecr_repository_policy_open_to_every_principal_is_caught() -> None:
    open_to_all = json.dumps({"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "ecr:*"}})
    named = json.dumps(
        {"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "ecr:*"}}
    )
    kind = "aws:ecr/repositoryPolicy:RepositoryPolicy"
    assert "every principal" in next(iter(registries.check(kind, {"policy": open_to_all})))
    assert list(registries.check(kind, {"policy": named})) == []


def test_unreadable_policy_text_is_not_a_crash() -> None:
    assert list(access.check("aws:iam/policy:Policy", {"policy": "{not json"})) == []
