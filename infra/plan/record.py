"""A mock monitor that keeps what the program registers: type, name, parent, inputs and provider."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from infra.plan.model import SECRET, PlannedResource


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: Any) -> None:
        super().__init__(mocks)
        self.recorded: list[PlannedResource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, response.urn, read=False)
        return response

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)
        self._record(request, response.urn, read=True)
        return response

    def _record(self, request: Any, urn: str, *, read: bool) -> None:
        properties = request.properties if read else request.object
        self.recorded.append(
            PlannedResource(
                type=request.type,
                name=request.name,
                parent=request.parent,
                urn=urn,
                inputs=redact(rpc.deserialize_properties(properties)),
                provider=request.provider,
                custom=True if read else bool(request.custom),
                read=read,
            )
        )


def redact(value: Any) -> Any:
    """Secrets become SECRET; resource references become their URN; the rest stays JSON-able."""
    if rpc.is_rpc_secret(value):
        return _all_secret(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {str(k): redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has one number type; Kubernetes schemas want integers
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return f"<{type(value).__name__}>"


def _all_secret(value: Any) -> Any:
    """A secret map keeps its keys (a Secret's stringData stays a map that validates), each value hidden;
    anything else becomes SECRET."""
    if isinstance(value, dict):
        return {str(k): SECRET for k in value}
    return SECRET
