"""What one running app knows about itself: settings, metrics, the model once loaded, whether it drains."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from service.batching import Batcher
from service.metrics import Metrics
from service.model.handled import LoadedModel
from service.settings import Settings


@dataclass
class ServerState:
    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    model: LoadedModel | None = None
    batcher: Batcher | None = None
    decode_pool: ThreadPoolExecutor | None = None
    """Where a handler's decode and encode run (LIFTOFF_DECODE_THREADS threads); None without a handler."""
    load_error: str | None = None
    """Why the model is not ready, when loading or warming it up failed. For the log and the tests only:
    it holds file paths and torch's own text, which no response may carry."""
    draining: bool = False

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
