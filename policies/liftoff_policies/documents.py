"""IAM-style policy documents (AWS IAM, ECR repository policies), however the resource holds them."""

from __future__ import annotations

import json
from typing import Any


def as_list(value: Any) -> list[Any]:
    """IAM lets one item stand where a list may: `"Action": "*"` means `["*"]`."""
    return value if isinstance(value, list) else [value]


def policy_documents(value: Any) -> list[dict[str, Any]]:
    """Policy documents from a JSON string, a dict, or a role's inline policies; unreadable ones are skipped."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if isinstance(value, list):
        return [
            d
            for item in value
            for d in policy_documents(item.get("policy") if isinstance(item, dict) else item)
        ]
    return [value] if isinstance(value, dict) else []


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in as_list(document.get("Statement", [])) if isinstance(s, dict)]
