"""The `context` a TorchServe handler receives, written from TorchServe's documented handler contract.

A handler reads the archive's manifest and the worker's system properties (`model_dir`, `gpu_id`,
`batch_size`) from it in `initialize`, and, per batch, each request's headers; it may set each answer's
content type, status and headers. Liftoff fills it from the model directory and the request, and reads the
content type back for `/predictions`' answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class _Metric:
    """TorchServe's custom metric handle; Liftoff's own Prometheus metrics cover requests and batches."""

    def add_or_update(self, *args: Any, **kwargs: Any) -> None:
        return None

    def update(self, *args: Any, **kwargs: Any) -> None:
        return None


class Metrics:
    """Accepts every call of TorchServe's metrics cache so handlers that record custom metrics run; the
    values are not exported (docs/from-torchserve.md says which Liftoff metric answers each question)."""

    def _metric(self, *args: Any, **kwargs: Any) -> _Metric:
        return _Metric()

    add_time = add_size = add_percent = add_counter = add_metric = add_metric_to_cache = get_metric = _metric


@dataclass
class Request:
    """One request of a batch as the handler's context sees it: its headers, and what it answers with."""

    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None
    status: tuple[int, str] = (200, "")
    response_headers: dict[str, str] = field(default_factory=dict)


class Context:
    def __init__(
        self,
        model_name: str,
        model_dir: str,
        manifest: Mapping[str, Any],
        batch_size: int,
        gpu_id: int | None,
        server_version: str,
        model_yaml_config: Mapping[str, Any],
    ) -> None:
        self.model_name = model_name
        self.manifest = manifest
        self.model_yaml_config = dict(model_yaml_config)
        self.metrics = Metrics()
        self._system_properties = {
            "model_dir": model_dir,
            "gpu_id": gpu_id,
            "batch_size": batch_size,
            "server_name": "Liftoff",
            "server_version": server_version,
            "limit_max_image_pixels": True,
        }
        self.requests: list[Request] = []
        self.request_ids: dict[int, str] = {}

    @property
    def system_properties(self) -> dict[str, Any]:
        return self._system_properties

    def begin_batch(self, headers: Sequence[Mapping[str, str]], ids: Sequence[str]) -> None:
        """A new batch: each request's headers (names in lower case), nothing answered yet."""
        self.requests = [Request({k.lower(): v for k, v in h.items()}) for h in headers]
        self.request_ids = dict(enumerate(ids))

    def get_request_id(self, idx: int = 0) -> str | None:
        return self.request_ids.get(idx)

    def get_request_header(self, idx: int, key: str) -> str | None:
        return self.requests[idx].headers.get(key.lower()) if idx < len(self.requests) else None

    def get_all_request_header(self, idx: int) -> dict[str, str]:
        return dict(self.requests[idx].headers) if idx < len(self.requests) else {}

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.requests[idx].content_type = value

    def get_response_content_type(self, idx: int) -> str | None:
        return self.requests[idx].content_type

    def get_response_status(self, idx: int) -> tuple[int, str]:
        return self.requests[idx].status

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.requests[idx].status = (code, phrase)

    def set_all_response_status(self, code: int = 200, phrase: str = "") -> None:
        for request in self.requests:
            request.status = (code, phrase)

    def get_response_headers(self, idx: int) -> dict[str, str]:
        return self.requests[idx].response_headers

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        self.requests[idx].response_headers[key] = value

    def get_sequence_id(self, idx: int) -> str:
        raise NotImplementedError("Liftoff does not serve TorchServe's stateful sequence batching")
