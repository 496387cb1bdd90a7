"""`WeightsAccess`: what a cloud hands the pod so it can read the weights, as a field of `Platform`.

Each cloud's `weights.py` builds it: where the weights are (LIFTOFF_WEIGHTS_URI), how the pod's service
account is tied to the cloud identity that may read them, and what the pod needs besides (an env var
naming the account or endpoint, a Secret on the dev stack, the egress to the store and the identity
endpoint). The workload renders it without asking which cloud it is on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi


@dataclass(frozen=True)
class WeightsAccess:
    uri: pulumi.Input[str]
    """LIFTOFF_WEIGHTS_URI: the prefix holding liftoff-weights.json."""
    total_bytes: int
    """The files' total: sizes the pod's emptyDir and its startup probe."""
    version: str
    """Changes when the weights do (the manifest's sha256, or the URI): the pod template carries it, so
    new weights under the same prefix roll the pods."""
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """On the pod's ServiceAccount: the cloud's documented way to tie it to an identity."""
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    """On the pod template (AKS's webhook acts only on pods labelled for it)."""
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain, non-secret settings of the store's client (a region, an account name, an endpoint)."""
    credentials_secret: str | None = None
    """The dev stack only: a Secret the user made, whose keys become the pod's env (envFrom)."""
    egress: Sequence[Mapping[str, Any]] = ()
    """NetworkPolicy egress rules the fetch needs (the store, the identity endpoint)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The uploads and the identity's grants: the pods start after them."""
