"""Liftoff's policy pack: `pulumi preview --policy-pack policies` (CI runs it on every pull request)."""

from liftoff_policies import policy_pack

policy_pack()
