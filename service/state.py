"""What one running app knows about itself: settings, metrics, the model once loaded, whether it drains."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from service.batching import Batcher
from service.body_limit import FALLBACK_BYTES, model_body_limit, model_separator_limit
from service.metrics import Metrics
from service.model.served import ServedModel
from service.settings import Settings


@dataclass
class ServerState:
    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    model: ServedModel | None = None
    batcher: Batcher | None = None
    decode_pool: ThreadPoolExecutor | None = None
    """Where a handler's decode and encode run (LIFTOFF_DECODE_THREADS threads); None without a handler."""
    load_error: str | None = None
    """Why the model is not ready, when loading or warming it up failed. For the log and the tests only:
    it holds file paths and torch's own text, which no response may carry."""
    draining: bool = False
    before_ready: list[Callable[[int], Awaitable[None]]] = field(default_factory=list)
    """Awaited with the loaded model's body limit before readiness turns true: the gRPC listener sizes its
    message limit to the model there, so no client the readiness lets in meets the resize."""
    _body_limit: tuple[ServedModel | None, int] = (None, FALLBACK_BYTES)

    @property
    def max_body_bytes(self) -> int:
        """LIFTOFF_MAX_BODY_BYTES, else the model's largest request (service/body_limit.py), worked out once
        per loaded model."""
        if self.settings.max_body_bytes is not None:
            return self.settings.max_body_bytes
        model, limit = self._body_limit
        if model is not self.model and self.model is not None:
            limit = self.body_limit_for(self.model)
            self._body_limit = (self.model, limit)
        return limit

    def body_limit_for(self, model: ServedModel) -> int:
        if self.settings.max_body_bytes is not None:
            return self.settings.max_body_bytes
        return model_body_limit(model.metadata.inputs, self.settings.max_batch_size)

    @property
    def max_json_separators(self) -> int | None:
        """The most commas a JSON request body may hold (service/body_limit.py); None: no such limit."""
        if self.model is None:
            return None
        return model_separator_limit(self.model.metadata.inputs, self.settings.max_batch_size)

    @property
    def ready(self) -> bool:
        return self.model is not None and self.batcher is not None and not self.draining

    def not_ready_reason(self) -> str:
        if self.draining:
            return "the server is shutting down"
        if self.load_error is not None:
            return "the model failed to load; the server log has the reason"
        return "the model is loading"

    def begin_drain(self) -> None:
        """Called from the SIGTERM handler: readiness fails from now on, accepted work still finishes."""
        self.draining = True
