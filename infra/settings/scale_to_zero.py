"""Scale to zero (`liftoff:minReplicas 0`): how long an idle Deployment keeps its pods, how long the first
request after idle is held while one starts. Read only when minReplicas is 0 (docs/scale-to-zero.md)."""

from __future__ import annotations

from pydantic import Field

from infra.config_keys import StackModel


class ScaleToZero(StackModel):
    idle_minutes: int = Field(15, ge=1, le=1440, alias="idleMinutes")
    """Minutes without a request before the last pod goes (the HTTPScaledObject's scaledownPeriod); then
    cluster-autoscaler removes the idle GPU node after its own scale-down delay."""
    cold_start_timeout_s: int = Field(600, ge=10, le=3600, alias="coldStartTimeoutSeconds")
    """How long the KEDA HTTP interceptor holds a request while the first pod starts (a GPU node boot, the
    CUDA image pull and the model load), then answers instead of waiting on."""

    @property
    def idle_s(self) -> int:
        return self.idle_minutes * 60
