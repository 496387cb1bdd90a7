"""The stack's settings: read once, typed, frozen, validated.

Pattern
-------
- `load_settings()` is the only code in the program that reads `pulumi.Config` (through
  `ConfigSource.from_pulumi()`); tests call `load_settings(ConfigSource.from_dict({...}))`, no Pulumi runtime.
- Each setting is a field of a pydantic model (infra/config_keys.py: `StackModel`) whose alias is its key
  (`liftoff:<alias>`): type, default and range in one place, and Pulumi.yaml's `config:` block is checked
  against them (tests/infra/test_pulumi_yaml.py). Rules between keys are model validators.
- `liftoff:cloud` picks the cloud's settings model, `infra/clouds/<cloud>/settings.py` (one registry of clouds,
  `infra.clouds.CLOUDS`); the result is `Settings.cloud_settings`. Per-cloud keys carry the cloud's name:
  `liftoff:awsRegion`, `liftoff:localContext`.
- A wrong value raises `SettingsError`, whose message names the full key and the allowed values or format.
"""

from __future__ import annotations

import typing
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, TypeVar

import annotated_types
import pulumi
from pydantic import Discriminator, Field, StringConstraints, Tag, create_model, model_validator
from pydantic.fields import FieldInfo

from infra import model_directory
from infra.clouds import CLOUDS, CloudName, cloud_module
from infra.clouds.aws.settings import AwsSettings
from infra.clouds.azure.settings import AzureSettings
from infra.clouds.gcp.settings import GcpSettings
from infra.clouds.local.settings import LocalSettings
from infra.config_keys import (
    CloudContext,
    ConfigSource,
    Cpu,
    DnsLabel,
    Memory,
    SettingsError,
    StackModel,
    cpu_millis,
    memory_bytes,
)
from infra.settings.edge import EdgeSettings
from infra.settings.scale_to_zero import ScaleToZero
from infra.settings.weights import WeightsSettings
from service.settings import Settings as ServerContract
from service.settings import deployment, stack_keys

__all__ = [
    "CLOUDS",
    "Autoscaling",
    "CloudSettings",
    "ConfigSource",
    "EdgeSettings",
    "Resources",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "load_settings",
    "server_values",
]

CloudSettings = AwsSettings | GcpSettings | AzureSettings | LocalSettings
"""One cloud's settings; a test holds this union to the registry's settings modules."""
_Cloud = TypeVar("_Cloud", AwsSettings, GcpSettings, AzureSettings, LocalSettings)
# An image reference: registry/repository, then a tag, a digest or both.
_IMAGE_REFERENCE = r"^[a-z0-9][a-z0-9._\-/:]*[a-z0-9](:[\w][\w.\-]{0,127})?(@sha256:[a-f0-9]{64})?$"
# The same, with the digest required: what is copied must be exactly what was built and tested.
_IMAGE_BY_DIGEST = r"^[a-z0-9][a-z0-9._\-/:]*[a-z0-9](:[\w][\w.\-]{0,127})?@sha256:[a-f0-9]{64}$"
ImageReference = Annotated[str, StringConstraints(pattern=_IMAGE_REFERENCE)]
ImageByDigest = Annotated[str, StringConstraints(pattern=_IMAGE_BY_DIGEST)]
HostName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]


class Resources(StackModel):
    """Requests and limits of one inference container."""

    cpu_request: Cpu = Field("500m", alias="cpuRequest")
    cpu_limit: Cpu | None = Field(None, alias="cpuLimit")
    """None: no CPU limit (throttling hurts latency; the request still reserves the cores)."""
    memory_request: Memory = Field("1Gi", alias="memoryRequest")
    memory_limit: Memory = Field("2Gi", alias="memoryLimit")

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> Self:
        if self.cpu_limit is not None and cpu_millis(self.cpu_limit) < cpu_millis(self.cpu_request):
            raise SettingsError(
                "liftoff:cpuLimit",
                f"{self.cpu_limit} is below liftoff:cpuRequest ({self.cpu_request}); allowed: at least it",
            )
        if memory_bytes(self.memory_limit) < memory_bytes(self.memory_request):
            raise SettingsError(
                "liftoff:memoryLimit",
                f"{self.memory_limit} is below liftoff:memoryRequest ({self.memory_request}); "
                "allowed: at least it",
            )
        return self


class _ServerKeys(StackModel):
    """The stack keys of the inference server: `modelName` here, the rest derived below from the server's
    own settings (service/settings.py), so a new server setting is one field there."""

    model_name: DnsLabel = Field("digits", alias="modelName")
    """Name the model answers to (`/v2/models/<name>/infer`): used for the exported URL."""

    @model_validator(mode="after")
    def _the_server_accepts_them(self) -> Self:
        """The server's own checks of its LIFTOFF_* settings (service/settings.py), run here: a value the
        server would refuse at start (every pod exiting 2 until `pulumi up` times out) fails the plan."""
        from pydantic import ValidationError

        try:
            ServerContract(**server_values(self, checked_here=True))
        except ValidationError as refused:
            error = refused.errors()[0]
            keys = stack_keys()
            field = next((part for part in error["loc"] if part in keys), None)
            message = str((error.get("ctx") or {}).get("error") or error["msg"])
            key = keys[str(field)] if field else _key_named_in(message)
            raise SettingsError(f"liftoff:{key}", f"the server refuses it: {message}") from None
        return self


def _stack_field(info: FieldInfo) -> tuple[Any, Any]:
    """A server setting as a stack key: its type, default, range and description, with two spellings Pulumi
    needs: a fractional number is a whole one (Pulumi config has no float type), and an optional number
    is 0 while unset (an integer key's default must be an integer)."""
    annotation: Any = info.annotation
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    optional = type(None) in typing.get_args(annotation)
    base = args[0] if optional else annotation
    default = info.get_default(call_default_factory=False)
    metadata = list(info.metadata)
    if base is float:
        base, default = int, int(default)
        # Above 0, for a whole number, is from 1: what the error's "allowed" then says.
        metadata = [
            annotated_types.Ge(int(float(str(m.gt))) + 1) if isinstance(m, annotated_types.Gt) else m
            for m in metadata
        ]
    if base in (int, float) and optional:
        base, default, metadata = int, 0, [annotated_types.Ge(0)]
    elif base is Path:
        base = str | None if optional else str
    annotated = typing.Annotated[base, *metadata] if metadata else base
    return annotated, Field(default, alias=deployment(info)["stack"], description=info.description)


def server_values(server: _ServerKeys, *, checked_here: bool = False) -> dict[str, Any]:
    """The server settings a stack sets, as the server reads them (0 back to unset for optional numbers);
    `checked_here` leaves out paths, which exist only inside the image."""
    values: dict[str, Any] = {}
    for name in stack_keys():
        info = ServerContract.model_fields[name]
        value = getattr(server, name)
        if value in (0, None) and info.get_default(call_default_factory=False) is None:
            continue
        if checked_here and info.annotation in (Path, Path | None):
            continue
        values[name] = value
    return values


if TYPE_CHECKING:

    class ServerSettings(_ServerKeys):
        """What the inference server reads from its environment (docs/server.md#settings)."""

        def __getattr__(self, name: str) -> Any: ...

else:
    ServerSettings = create_model(
        "ServerSettings",
        __base__=_ServerKeys,
        __doc__="What the inference server reads from its environment (docs/server.md#settings).",
        **{name: _stack_field(ServerContract.model_fields[name]) for name in stack_keys()},
    )


def _key_named_in(message: str) -> str:
    """The stack key of the first LIFTOFF_* variable a server message names (its cross-field rules)."""
    named = {message.find(f"LIFTOFF_{field.upper()}"): key for field, key in stack_keys().items()}
    named.pop(-1, None)
    return named[min(named)] if named else "maxBatchSize"


class Autoscaling(StackModel):
    """Targets the autoscalers hold: per pod for KEDA (with monitoring), CPU for the plain HPA."""

    target_queue_depth: int = Field(8, ge=1, le=10000, alias="targetQueueDepth")
    """Average rows waiting for a batch per pod (`liftoff_queue_depth`)."""
    target_p95_latency_ms: int = Field(250, ge=1, le=600000, alias="targetP95LatencyMs")
    """p95 of `liftoff_request_duration_seconds` on the inference routes."""
    target_cpu_utilization: int = Field(70, ge=1, le=100, alias="targetCpuUtilization")
    """Percent of the CPU request."""


def _cloud_of(value: Any) -> str | None:
    """The tag of the cloud settings to validate: the stack's `cloud` key (or a model's own cloud)."""
    if isinstance(value, dict):
        return str(value.get("cloud", "local"))
    tags: dict[type, str] = {
        AwsSettings: "aws",
        GcpSettings: "gcp",
        AzureSettings: "azure",
        LocalSettings: "local",
    }
    return tags.get(type(value))


class Settings(CloudContext):
    """Everything the program needs from the stack configuration (`gpu` and `allow_extended_support` come
    from `CloudContext`)."""

    nested = ("resources", "server", "autoscaling", "scale_to_zero", "edge", "weights")

    cloud: CloudName = Field("local", alias="cloud")
    """Which `infra/clouds/<cloud>/` builds the platform."""
    cloud_settings: Annotated[
        Annotated[AwsSettings, Tag("aws")]
        | Annotated[GcpSettings, Tag("gcp")]
        | Annotated[AzureSettings, Tag("azure")]
        | Annotated[LocalSettings, Tag("local")],
        Discriminator(_cloud_of),
    ]
    """The chosen cloud's settings, from `infra/clouds/<cloud>/settings.py`."""
    namespace: DnsLabel = Field("liftoff", alias="namespace")
    image: ImageReference | None = Field(None, alias="image")
    """A full image reference: skips the build (CI that builds and pushes images itself)."""
    model_dir: str | None = Field(None, alias="model")
    """A model directory, absolute or relative to the project: checked as the server would load it, built
    into the image (with its requirements.txt), and its model.json names the model (infra/model_directory.py)."""
    image_source: ImageByDigest | None = Field(None, alias="imageSource")
    """An image built elsewhere (CI), by digest: copied into the platform's registry instead of a build."""
    requested_image_variant: Literal["cpu", "cuda"] | None = Field(None, alias="imageVariant")
    """`liftoff:imageVariant` as set; see `image_variant`."""
    base_image: ImageReference | None = Field(None, alias="baseImage")
    """The Dockerfile's BASE_IMAGE build argument; None: the Dockerfile's own default."""
    min_replicas: int = Field(1, ge=0, le=1000, alias="minReplicas")
    """0: scale to zero when idle, the KEDA HTTP add-on holding the first request (`scale_to_zero`)."""
    max_replicas: int = Field(3, ge=1, le=1000, alias="maxReplicas")
    resources: Resources
    server: ServerSettings
    autoscaling: Autoscaling
    scale_to_zero: ScaleToZero
    monitoring: bool = Field(True, alias="monitoring")
    """kube-prometheus-stack, DCGM exporter, KEDA, ServiceMonitor and dashboard."""
    grafana_admin_password: pulumi.Output[str] | None = None
    """Secret (`liftoff:grafanaAdminPassword`, read by `load`); None with monitoring on: the stack generates
    one (the chart's built-in default is public)."""
    metrics_server: bool = Field(False, alias="metricsServer")
    """Install metrics-server even where the platform does not ask for it."""
    ingress_host: HostName | None = Field(None, alias="ingressHost")
    """Host name the Ingress answers to; None: any host, reached by the load balancer's address."""
    edge: EdgeSettings
    """API keys, the routes the Ingress publishes, TLS, Traefik's limits, egress (infra/settings/edge.py)."""
    weights: WeightsSettings
    """Where an upload of the model's weights goes, a URI's size, the dev stack's store (settings/weights.py)."""
    pre_stop_s: int = Field(5, ge=0, le=120, alias="preStopSeconds")
    """Seconds a terminating pod keeps serving while endpoints and the proxy drop it."""
    startup_timeout_s: int = Field(600, ge=30, le=3600, alias="startupTimeoutSeconds")
    """How long the startup probe lets the model load and warm up."""
    deploy_timeout_s: int = Field(1800, ge=60, le=7200, alias="deployTimeoutSeconds")
    """How long `pulumi up` waits for the Deployment: a cold GPU node can take many minutes to join."""

    @classmethod
    def declared_keys(cls) -> dict[str, FieldInfo]:
        found = super().declared_keys()
        for cloud in CLOUDS:
            found |= _cloud_settings_class(cloud).declared_keys()
        return found

    @classmethod
    def load(cls, source: ConfigSource, *, context: Any = None) -> Self:
        """`context` may fix `today` (tests); the cloud's rules get the core keys they read through it."""
        day = (context or {}).get("today")
        settings = super().load(source, context=CloudContext.load(source).context(day))
        # Unset, the stack generates one (a random secret, never the chart's public default).
        password = source.secret("grafanaAdminPassword") if settings.monitoring else None
        edge = EdgeSettings.read_secrets(settings.edge, source)
        return settings.model_copy(update={"grafana_admin_password": password, "edge": edge})

    @model_validator(mode="before")
    @classmethod
    def _spread_keys(cls, data: Any) -> Any:
        """Nested groups and the cloud's settings read from the same flat keys."""
        if not isinstance(data, dict):
            return data
        return {**data, **{name: data for name in cls.nested}, "cloud_settings": data}

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        self.edge.require_host(self.ingress_host)
        if self.min_replicas > self.max_replicas:
            raise SettingsError(
                "liftoff:minReplicas",
                f"{self.min_replicas} is above liftoff:maxReplicas ({self.max_replicas}); "
                "allowed: at most liftoff:maxReplicas",
            )
        self._check_scale_to_zero()
        if self.gpu > 0 and self.server.workers > 1:
            raise SettingsError(
                "liftoff:workers",
                f"{self.server.workers} server processes would each load the model onto the pod's GPU; "
                "allowed: 1 with liftoff:gpu above 0 (more pods scale a GPU model, not more processes)",
            )
        capacity = self.cloud_settings.gpu_pod_capacity(self.gpu) if self.gpu > 0 else None
        if capacity is not None and self.max_replicas + 1 > capacity:
            pool_key = self.cloud_settings.gpu_pool_size_key
            raise SettingsError(
                "liftoff:maxReplicas",
                f"{self.max_replicas} pods of {self.gpu} GPU(s) plus the one a rolling update starts before "
                f"it stops an old one need room for {self.max_replicas + 1}, but the GPU pool holds "
                f"{capacity} at liftoff:{pool_key}; allowed: liftoff:maxReplicas at most {capacity - 1}, "
                f"or a larger liftoff:{pool_key}",
            )
        if self.model_dir is not None:
            model_directory.model_name(self.model_dir)  # the directory and its name, checked now
            model_directory.check_requirements(self.model_dir)
            if not self.image and not self.image_source:  # a build: the directory must serve first
                model_directory.check_serves(self.model_dir)
        if self.image and self.image_source:
            raise SettingsError(
                "liftoff:imageSource",
                "cannot be set together with liftoff:image; allowed: one of them "
                "(image: deploy as is; imageSource: copy into the stack's registry, then deploy)",
            )
        return self

    def _check_scale_to_zero(self) -> None:
        """minReplicas 0 is for a stack where idle means no GPU node: a pool floor above 0 keeps one."""
        if self.min_replicas != 0 or self.gpu == 0:
            return
        floor = self.cloud_settings.idle_gpu_nodes
        if floor is not None and floor.nodes > 0:
            raise SettingsError(
                "liftoff:minReplicas",
                f"0 stops every pod, but {floor.key} is {floor.nodes}, so a GPU node would still run while "
                f"idle; allowed: 0 with {floor.key} 0, or 1 to liftoff:maxReplicas",
            )

    @property
    def model_name(self) -> str:
        """The name the model answers to (`/v2/models/<name>/infer`): model.json's with liftoff:model."""
        if self.model_dir is not None:
            return model_directory.model_name(self.model_dir)
        return self.server.model_name

    @property
    def scales_to_zero(self) -> bool:
        return self.min_replicas == 0

    def cloud_settings_as(self, kind: type[_Cloud]) -> _Cloud:
        """`cloud_settings` as the one cloud's type its component expects (a TypeError on any other)."""
        if not isinstance(self.cloud_settings, kind):
            raise TypeError(
                f"{self.cloud} settings are {type(self.cloud_settings).__name__}, not {kind.__name__}"
            )
        return self.cloud_settings

    @property
    def image_variant(self) -> Literal["cpu", "cuda"]:
        """The Dockerfile's VARIANT build argument: as set, else cuda when `gpu` > 0, else cpu."""
        return self.requested_image_variant or ("cuda" if self.gpu > 0 else "cpu")

    @property
    def termination_grace_s(self) -> int:
        """Longer than preStop + the server's drain, so SIGKILL never cuts a drain short."""
        return self.pre_stop_s + self.server.drain_timeout_s + 10


def _cloud_settings_class(cloud: str) -> type[StackModel]:
    model: type[StackModel] = cloud_module(cloud, "settings").MODEL
    return model


def load_settings(source: ConfigSource | None = None, *, today: date | None = None) -> Settings:
    """Read and validate the stack's configuration; `source` defaults to the running Pulumi stack's, and
    `today` (the day version support is judged on) to the real one."""
    return Settings.load(source or ConfigSource.from_pulumi(), context={"today": today})
