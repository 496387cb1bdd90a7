"""The cost report inside the Pulumi program, for `pulumi preview` and `pulumi up`: every resource the program
constructs is seen as it is constructed (a stack transformation that changes nothing), then priced by the
same code as the offline plan."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from infra.costs import report
from infra.costs.walk import Resource, resource


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, Any]] = []

    def __call__(self, args: pulumi.ResourceTransformationArgs) -> None:
        self.seen.append((args.type_, args.name, args.props))
        return None

    def resources(self) -> list[Resource]:
        return [resource(type_, name, _plain(props) or {}) for type_, name, props in self.seen]


def _plain(value: Any) -> Any:
    """Inputs as plain data: what is known at construction stays, an Output (unknown in a preview) is None."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, pulumi.Output | pulumi.Resource):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__") and not callable(value):
        # The SDKs' input classes keep their fields in __dict__ under their Python names.
        return {k: _plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return None


def start() -> Recorder:
    recorder = Recorder()
    pulumi.runtime.register_stack_transformation(recorder)
    return recorder


def finish(recorder: Recorder, model_dir: Path | None) -> None:
    """Print the cost and cold-start report with the preview, its warnings as warnings, and export it."""
    built = report.build(recorder.resources(), model_dir)
    pulumi.log.info(report.text(built))
    for warning in built.warnings:
        pulumi.log.warn(warning)
    pulumi.export("costs", report.outputs(built))
