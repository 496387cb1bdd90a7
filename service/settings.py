"""The server's settings, read once from `LIFTOFF_*` environment variables.

Each setting is declared here once: its variable (the field's name), type, default, range and description,
and how a deployment sets it: a stack key (`from_stack`), which infra/settings derives its key, type,
default and range from, or a value the pod fixes (`from_pod`). The settings table in docs/server.md,
Pulumi.yaml's server keys and the pod's environment are checked against these fields by tests.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository (in the image: /app) holds the default model; resolving from the package makes it work
# from any working directory.
APP_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_PATH = APP_ROOT / "models" / "digits" / "model.pt"

ENV_PREFIX = "LIFTOFF_"


def from_stack(key: str, *, shown: str | None = None) -> dict[str, Any]:
    """A setting a stack sets as `liftoff:<key>`; `shown` is the default in words where the value is not."""
    return {"stack": key, **({"shown": shown} if shown else {})}


def from_pod(how: str, *, shown: str | None = None) -> dict[str, Any]:
    """A setting the pod fixes from what the stack already knows (`how` says what it sets and why)."""
    return {"pod": how, **({"shown": shown} if shown else {})}


class Settings(BaseSettings):
    """Everything the server can be told. Tests build it directly: `Settings(max_batch_size=4)`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    host: str = Field(
        default="127.0.0.1",
        description="bind address",
        json_schema_extra=from_pod("`0.0.0.0`, behind the Service"),
    )
    port: int = Field(default=8080, ge=1, le=65535, description="port", json_schema_extra=from_pod("`8080`"))
    grpc_port: int = Field(
        default=8081,
        ge=0,
        le=65535,
        description="the Open Inference Protocol's gRPC listener (docs/protocols.md); `0` turns it off. Unset, "
        "it is `LIFTOFF_PORT` + 1 (`8081` beside the default `8080`); a port another process listens on stops "
        "start-up",
        json_schema_extra=from_pod("`8081`"),
    )
    metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="serve `GET /metrics` on this port, and no longer on `LIFTOFF_PORT` (which then answers "
        "404 there); `0` keeps it on `LIFTOFF_PORT`",
        json_schema_extra=from_pod("`9090`, so that only the monitoring namespace may read the metrics"),
    )
    model_path: Path | None = Field(
        default=None,
        description="a model directory (`model.json`, `model.pt` or `.pt2`, optional `handler.py`: "
        "docs/your-model.md), or a model file with its metadata in the `.json` file beside it (same stem)",
        json_schema_extra=from_stack("modelPath", shown="the bundled digits model"),
    )
    termination_message_path: Path = Field(
        default=Path("/dev/termination-log"),
        description="where a model that fails its check at start-up leaves its one-line reason as the server "
        "exits with status 3 (Kubernetes' `terminationMessagePath`); written only when the file exists",
        json_schema_extra=from_pod(
            "the kubelet's default, which the container's terminationMessagePath names"
        ),
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto",
        description="where the model runs",
        json_schema_extra=from_pod("`cuda` with `liftoff:gpu`, else `cpu`"),
    )
    dtype: Literal["float32", "float16", "bfloat16"] = Field(
        default="float32",
        description="applied to the weights and floating inputs; answers leave in the declared datatype",
        json_schema_extra=from_stack("dtype"),
    )
    max_batch_size: int = Field(
        default=32,
        ge=1,
        le=65536,
        description="rows per forward pass at most",
        json_schema_extra=from_stack("maxBatchSize"),
    )
    max_batch_wait_ms: float = Field(
        default=2.0,
        ge=0,
        le=10_000,
        description="how long a batch waits to fill, at most (only while more requests are being read)",
        json_schema_extra=from_stack("maxBatchWaitMs"),
    )
    queue_limit: int = Field(
        default=256,
        ge=1,
        le=1_000_000,
        description="queued rows before new requests get 503 + `Retry-After` (at least `LIFTOFF_MAX_BATCH_SIZE`)",
        json_schema_extra=from_stack("queueLimit"),
    )
    request_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="per-request deadline",
        json_schema_extra=from_stack("requestTimeoutSeconds"),
    )
    max_body_bytes: int | None = Field(
        default=None,
        ge=1024,
        description="larger bodies get 413, while they are read (service/body_limit.py)",
        json_schema_extra=from_stack(
            "serverMaxBodyBytes",
            shown="the model's largest request: max batch size rows of every input at 25 bytes a value, "
            "plus 64 KiB (8 MiB for rows without a fixed size)",
        ),
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="from a connection (or a request's first byte) to the end of its headers; then 408",
        json_schema_extra=from_stack("headerTimeoutSeconds"),
    )
    # 30 s carries a 64 KiB body at 2 KiB/s, far slower than a phone on a poor link.
    body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="from the end of the headers to the end of the body; then 408",
        json_schema_extra=from_stack("bodyTimeoutSeconds"),
    )
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="request line and headers; larger get 431",
        json_schema_extra=from_stack("maxHeaderBytes"),
    )
    max_header_count: int = Field(
        default=100,
        ge=8,
        le=10_000,
        description="headers in one request; more get 431 (each costs parsing, and a 401 should stay cheap)",
        json_schema_extra=from_stack("maxHeaderCount"),
    )
    send_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="how long an answer waits for a client that stopped reading it; then the connection is "
        "dropped",
        json_schema_extra=from_stack("sendTimeoutSeconds"),
    )
    max_connections: int = Field(
        default=0,
        ge=0,
        description="open connections per process and listener; at the HTTP cap the one waiting longest on its "
        "client gives way, and only when all are busy does a newcomer get 503; at the gRPC cap a newcomer is "
        "closed",
        json_schema_extra=from_stack(
            "maxConnections",
            shown="`0` (HTTP: the open-file limit less 128, less gRPC's quarter of that and the metrics port's "
            "16; gRPC: that quarter)",
        ),
    )
    torch_threads: int = Field(
        default=0,
        ge=0,
        le=1024,
        description="intra-op threads per process",
        json_schema_extra=from_stack(
            "torchThreads", shown="`0` (torch's default; with several workers, the cores divided among them)"
        ),
    )
    decode_threads: int = Field(
        default=4,
        ge=1,
        le=256,
        description="threads running a handler's `decode` and `encode`, off the event loop",
        json_schema_extra=from_stack("decodeThreads"),
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="server processes sharing the port, each with its own model (CPU only: one process per GPU)",
        json_schema_extra=from_stack("workers"),
    )
    drain_timeout_s: float = Field(
        default=20.0,
        gt=0,
        le=3600,
        description="SIGTERM drain limit (the pod's grace period is `liftoff:preStopSeconds` + this + 10)",
        json_schema_extra=from_stack("drainTimeoutSeconds"),
    )
    replica_id: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        description="sent back in the `X-Liftoff-Replica` response header",
        json_schema_extra=from_pod("the pod's name", shown="the host name"),
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="info", description="log level", json_schema_extra=from_stack("logLevel")
    )
    api_keys: SecretStr = Field(
        default=SecretStr(""),
        description="API keys (comma separated) that every route but the probes, `/metrics` and the docs "
        "requires as `Authorization: Bearer <key>` (service/auth.py)",
        json_schema_extra=from_pod(
            "never: the stack's keys reach the pod as `LIFTOFF_API_KEYS_FILE`", shown="none"
        ),
    )
    api_keys_file: Path | None = Field(
        default=None,
        description="a file of API keys, one a line, re-read within a second of a change (rotation without "
        "restart); with neither set the server answers without keys and logs one warning at start",
        json_schema_extra=from_pod("the keys Secret's file, with `liftoff:auth` on", shown="none"),
    )
    weights_uri: str | None = Field(
        default=None,
        description="where the model's weights live (`s3://`, `gs://`, `az://`, `https://`), fetched and "
        "sha256-verified before the model loads; overrides model.json's `weights`",
        json_schema_extra=from_pod(
            "where the stack uploaded the model's weights folder, or the URI model.json names", shown="none"
        ),
    )
    weights_dir: Path | None = Field(
        default=None,
        description="where weights from a URI are fetched and verified; files already verified there are "
        "not fetched again",
        json_schema_extra=from_pod(
            "`/var/cache/liftoff/weights`, an emptyDir sized to the weights",
            shown="a cache folder per URI under `~/.cache/liftoff/weights`",
        ),
    )

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

    @model_validator(mode="before")
    @classmethod
    def _grpc_port_follows_port(cls, data: object) -> object:
        """Unset, LIFTOFF_GRPC_PORT is LIFTOFF_PORT + 1 (8081 beside the default 8080), so two local servers
        on different HTTP ports never meet on one gRPC port."""
        if isinstance(data, dict) and data.get("grpc_port") is None and data.get("port") is not None:
            port = str(data["port"]).strip()
            if port.isdigit() and 1 <= int(port) < 65535:
                return {**data, "grpc_port": int(port) + 1}
        return data

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


def deployment(info: FieldInfo) -> dict[str, str]:
    """How a deployment sets a field: `{"stack": key}` or `{"pod": how}`, plus `shown` where declared."""
    extra = info.json_schema_extra
    if not isinstance(extra, dict) or not ("stack" in extra or "pod" in extra):
        raise TypeError(
            "every server setting says how a deployment sets it: from_stack(...) or from_pod(...)"
        )
    return {key: str(value) for key, value in extra.items()}


def stack_keys() -> dict[str, str]:
    """Field name -> stack key, for every setting a stack sets."""
    return {
        name: spec["stack"]
        for name, info in Settings.model_fields.items()
        if "stack" in (spec := deployment(info))
    }
