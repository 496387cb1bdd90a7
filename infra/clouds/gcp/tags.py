"""The cost labels every labelable GCP resource carries (a policy pack checks them)."""

from __future__ import annotations

import re

import pulumi


def cost_tags() -> dict[str, str]:
    """`project`, `stack`, `managed-by`: GCP label values are lower-case letters, digits, `_` and `-`."""
    stack = re.sub(r"[^a-z0-9_-]", "-", pulumi.get_stack().lower())[:63]
    return {"project": "liftoff", "stack": stack, "managed-by": "pulumi"}
