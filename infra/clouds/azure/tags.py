"""The cost tags every taggable Azure resource carries (a policy pack checks them)."""

from __future__ import annotations

import pulumi


def cost_tags() -> dict[str, str]:
    """`project`, `stack`, `managed-by`: Azure tag values allow any text up to 256 characters."""
    return {"project": "liftoff", "stack": pulumi.get_stack()[:256], "managed-by": "pulumi"}
