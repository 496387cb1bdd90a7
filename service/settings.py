"""The server's settings, read once from `LIFTOFF_*` environment variables.

docs/service-contract.md lists the same variables; a test keeps the two in agreement.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository (in the image: /app) holds the default model; resolving from the package makes it work
# from any working directory.
APP_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_PATH = APP_ROOT / "models" / "digits" / "model.pt"

ENV_PREFIX = "LIFTOFF_"


class Settings(BaseSettings):
    """Everything the server can be told. Tests build it directly: `Settings(max_batch_size=4)`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    grpc_port: int = Field(default=8081, ge=0, le=65535)
    """The Open Inference Protocol's gRPC listener (service/grpc/) under `python -m service`; 0 turns it off."""
    metrics_port: int = Field(default=0, ge=0, le=65535)
    """`GET /metrics` on a port of its own (service/metrics_port.py), and no longer on `port`; 0 keeps it there."""
    model_path: Path | None = None
    """A model directory (service/model/directory.py) or a model file with its .json beside it; None means the
    bundled digits model (trained on the spot when missing)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    max_batch_size: int = Field(default=32, ge=1, le=65536)
    max_batch_wait_ms: float = Field(default=2.0, ge=0, le=10_000)
    queue_limit: int = Field(default=256, ge=1)
    """Rows waiting for a forward pass before new requests get 503 + Retry-After."""
    request_timeout_s: float = Field(default=30.0, gt=0)
    max_body_bytes: int | None = Field(default=None, ge=1024)
    """None: the model's largest request, max_batch_size rows as JSON plus room (service/body_limit.py)."""
    header_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    """From a connection (or a request's first byte) to the end of its headers; past it, 408."""
    body_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    """From the end of a request's headers to the end of its body; past it, 408. 30 s carries a 64 KiB
    body at 2 KiB/s, far slower than a phone on a poor link."""
    max_header_bytes: int = Field(default=32 * 1024, ge=1024, le=16 * 1024 * 1024)
    """Request line plus headers; larger ones get 431."""
    max_connections: int = Field(default=0, ge=0)
    """Open client connections per process; 0: the open-file limit less a reserve."""
    torch_threads: int = Field(default=0, ge=0, le=1024)
    """Intra-op threads for the forward pass; 0 keeps torch's own default."""
    decode_threads: int = Field(default=4, ge=1, le=256)
    """Threads that run a handler's decode and encode, off the event loop (service/model/handled.py)."""
    workers: int = Field(default=1, ge=1, le=64)
    drain_timeout_s: float = Field(default=20.0, gt=0)
    replica_id: str = Field(default_factory=socket.gethostname, min_length=1)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    api_keys: SecretStr = SecretStr("")
    """Keys that inference and metadata routes accept (comma separated); see service/auth.py."""
    api_keys_file: Path | None = None
    """A file of keys, one a line, re-read when it changes (a mounted Kubernetes Secret)."""
    weights_uri: str | None = None
    """Where the model's weights live (s3://, gs://, az://, https://); overrides model.json's `weights`."""
    weights_dir: Path | None = None
    """Where weights from a URI are fetched and verified (in the pod an emptyDir); None: a cache folder per URI."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("model_path")
    @classmethod
    def _model_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            raise ValueError(f"no model file or directory at {value}")
        return value

    @field_validator("api_keys_file")
    @classmethod
    def _keys_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no API key file at {value}")
        return value

    @model_validator(mode="after")
    def _queue_holds_a_full_batch(self) -> Settings:
        if self.queue_limit < self.max_batch_size:
            raise ValueError(
                f"LIFTOFF_QUEUE_LIMIT ({self.queue_limit}) must be at least LIFTOFF_MAX_BATCH_SIZE "
                f"({self.max_batch_size}), or a request of a full batch could never be queued"
            )
        return self

    @model_validator(mode="after")
    def _metrics_port_is_its_own(self) -> Settings:
        if self.metrics_port and self.metrics_port in (self.port, self.grpc_port):
            raise ValueError(
                f"LIFTOFF_METRICS_PORT ({self.metrics_port}) must differ from LIFTOFF_PORT ({self.port}) "
                f"and LIFTOFF_GRPC_PORT ({self.grpc_port})"
            )
        return self

    @property
    def uses_default_model(self) -> bool:
        return self.model_path is None

    @property
    def resolved_model_path(self) -> Path:
        return self.model_path if self.model_path is not None else DEFAULT_MODEL_PATH

    @property
    def max_batch_wait_s(self) -> float:
        return self.max_batch_wait_ms / 1000.0


def env_name(field_name: str) -> str:
    """The environment variable that sets a field, as users see it in errors."""
    return ENV_PREFIX + field_name.upper()
