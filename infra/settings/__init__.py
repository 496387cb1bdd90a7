"""The stack's settings: read once, typed, frozen, validated.

Pattern
-------
- `load_settings()` is the only code in the program that reads `pulumi.Config` (through
  `ConfigSource.from_pulumi()`); tests call `load_settings(ConfigSource.from_dict({...}))`, no Pulumi runtime.
- Core keys (`liftoff:<key>`, declared with type, default and description in `Pulumi.yaml`) become `Settings`.
- `liftoff:cloud` picks the cloud's settings module, `infra/clouds/<cloud>/settings.py` (found through the one
  registry of clouds, `infra.clouds.CLOUDS`). Each exports a frozen dataclass and
  `load(source: ConfigSource) -> <Cloud>Settings`; the result is `Settings.cloud_settings`. Per-cloud keys are prefixed with the cloud name: `liftoff:awsRegion`,
  `liftoff:localContext`.
- A wrong value raises `SettingsError`, whose message names the full key and the allowed values or format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import pulumi

from infra.clouds import CLOUDS, cloud_module
from infra.clouds.aws.settings import AwsSettings
from infra.clouds.azure.settings import AzureSettings
from infra.clouds.gcp.settings import GcpSettings
from infra.clouds.local.settings import LocalSettings
from infra.config_keys import ConfigSource, SettingsError, cpu_millis, memory_bytes
from infra.settings.edge import EdgeSettings, load_edge

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
]

CloudSettings = AwsSettings | GcpSettings | AzureSettings | LocalSettings
"""One cloud's settings; a test holds this union to the registry's settings modules."""
_Cloud = TypeVar("_Cloud", AwsSettings, GcpSettings, AzureSettings, LocalSettings)
IMAGE_VARIANTS = ("cpu", "cuda")
DTYPES = ("float32", "float16", "bfloat16")
LOG_LEVELS = ("debug", "info", "warning", "error")
# An image reference: registry/repository, then a tag, a digest or both.
_IMAGE_REFERENCE = r"[a-z0-9][a-z0-9._\-/:]*[a-z0-9](:[\w][\w.\-]{0,127})?(@sha256:[a-f0-9]{64})?"
# The same, with the digest required: what is copied must be exactly what was built and tested.
_IMAGE_BY_DIGEST = r"[a-z0-9][a-z0-9._\-/:]*[a-z0-9](:[\w][\w.\-]{0,127})?@sha256:[a-f0-9]{64}"


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one inference container."""

    cpu_request: str
    cpu_limit: str | None
    """None: no CPU limit (throttling hurts latency; the request still reserves the cores)."""
    memory_request: str
    memory_limit: str


@dataclass(frozen=True)
class ServerSettings:
    """What the inference server reads from its environment (docs/service-contract.md)."""

    model_name: str
    """Name the model answers to (`/v2/models/<name>/infer`): used for the exported URL."""
    model_path: str | None
    """LIFTOFF_MODEL_PATH inside the image; None: the bundled demo model."""
    dtype: str
    max_batch_size: int
    max_batch_wait_ms: int
    queue_limit: int
    request_timeout_s: int
    drain_timeout_s: int
    log_level: str


@dataclass(frozen=True)
class Autoscaling:
    """Targets the autoscalers hold: per pod for KEDA (with monitoring), CPU for the plain HPA."""

    target_queue_depth: int
    """Average rows waiting for a batch per pod (`liftoff_queue_depth`)."""
    target_p95_latency_ms: int
    """p95 of `liftoff_request_duration_seconds` on the inference routes."""
    target_cpu_utilization: int
    """Percent of the CPU request."""


@dataclass(frozen=True)
class Settings:
    """Everything the program needs from the stack configuration."""

    cloud: str
    """"aws" | "gcp" | "azure" | "local": which `infra/clouds/<cloud>.py` builds the platform."""
    cloud_settings: CloudSettings
    """The per-cloud settings dataclass, from `infra/clouds/<cloud>/settings.py`."""
    namespace: str
    image: str | None
    """A full image reference: skips the build (CI that builds and pushes images itself)."""
    image_source: str | None
    """An image built elsewhere (CI), by digest: copied into the platform's registry instead of a build."""
    image_variant: str
    """"cpu" | "cuda": the Dockerfile's VARIANT build argument."""
    base_image: str | None
    """The Dockerfile's BASE_IMAGE build argument; None: the Dockerfile's own default."""
    gpu: int
    """GPUs per pod; 0 runs on CPU nodes."""
    min_replicas: int
    max_replicas: int
    resources: Resources
    server: ServerSettings
    autoscaling: Autoscaling
    monitoring: bool
    """kube-prometheus-stack, DCGM exporter, KEDA, ServiceMonitor and dashboard."""
    grafana_admin_password: pulumi.Output[str] | None
    """Secret; None with monitoring on: the stack generates one (the chart's built-in default is public)."""
    metrics_server: bool
    """Install metrics-server even where the platform does not ask for it."""
    ingress_host: str | None
    """Host name the Ingress answers to; None: any host, reached by the load balancer's address."""
    edge: EdgeSettings
    """API keys, the routes the Ingress publishes, TLS, Traefik's limits, egress (infra/settings/edge.py)."""
    pre_stop_s: int
    """Seconds a terminating pod keeps serving while endpoints and the proxy drop it."""
    startup_timeout_s: int
    """How long the startup probe lets the model load and warm up."""
    deploy_timeout_s: int
    """How long `pulumi up` waits for the Deployment: a cold GPU node can take many minutes to join."""

    def cloud_settings_as(self, kind: type[_Cloud]) -> _Cloud:
        """`cloud_settings` as the one cloud's type its component expects (a TypeError on any other)."""
        if not isinstance(self.cloud_settings, kind):
            raise TypeError(
                f"{self.cloud} settings are {type(self.cloud_settings).__name__}, not {kind.__name__}"
            )
        return self.cloud_settings

    @property
    def termination_grace_s(self) -> int:
        """Longer than preStop + the server's drain, so SIGKILL never cuts a drain short."""
        return self.pre_stop_s + self.server.drain_timeout_s + 10


def load_settings(source: ConfigSource | None = None) -> Settings:
    """Read and validate the stack's configuration; `source` defaults to the running Pulumi stack's."""
    source = source or ConfigSource.from_pulumi()
    cloud = source.choice("cloud", CLOUDS, default="local")
    gpu = source.integer("gpu", 0, minimum=0, maximum=16)
    min_replicas = source.integer("minReplicas", 1, minimum=1, maximum=1000)
    max_replicas = source.integer("maxReplicas", 3, minimum=1, maximum=1000)
    if min_replicas > max_replicas:
        raise SettingsError(
            source.key("minReplicas"),
            f"{min_replicas} is above liftoff:maxReplicas ({max_replicas}); "
            "allowed: at most liftoff:maxReplicas",
        )
    monitoring = source.boolean("monitoring", True)
    # Unset, the stack generates one (a random secret, never the chart's public default).
    grafana_admin_password = source.secret("grafanaAdminPassword") if monitoring else None
    image = source.string("image", pattern=_IMAGE_REFERENCE)
    image_source = source.string("imageSource", pattern=_IMAGE_BY_DIGEST)
    if image and image_source:
        raise SettingsError(
            source.key("imageSource"),
            "cannot be set together with liftoff:image; allowed: one of them "
            "(image: deploy as is; imageSource: copy into the stack's registry, then deploy)",
        )
    ingress_host = source.string("ingressHost", pattern=r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
    return Settings(
        cloud=cloud,
        cloud_settings=cloud_module(cloud, "settings").load(source),
        namespace=source.dns_label("namespace", "liftoff"),
        image=image,
        image_source=image_source,
        image_variant=source.choice("imageVariant", IMAGE_VARIANTS, default="cuda" if gpu > 0 else "cpu"),
        base_image=source.string("baseImage", pattern=_IMAGE_REFERENCE),
        gpu=gpu,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        resources=_resources(source),
        server=_server(source),
        autoscaling=Autoscaling(
            target_queue_depth=source.integer("targetQueueDepth", 8, minimum=1, maximum=10000),
            target_p95_latency_ms=source.integer("targetP95LatencyMs", 250, minimum=1, maximum=600000),
            target_cpu_utilization=source.integer("targetCpuUtilization", 70, minimum=1, maximum=100),
        ),
        monitoring=monitoring,
        grafana_admin_password=grafana_admin_password,
        metrics_server=source.boolean("metricsServer", False),
        ingress_host=ingress_host,
        edge=load_edge(source, ingress_host),
        pre_stop_s=source.integer("preStopSeconds", 5, minimum=0, maximum=120),
        startup_timeout_s=source.integer("startupTimeoutSeconds", 600, minimum=30, maximum=3600),
        deploy_timeout_s=source.integer("deployTimeoutSeconds", 1800, minimum=60, maximum=7200),
    )


def _resources(source: ConfigSource) -> Resources:
    cpu_request = source.cpu("cpuRequest", "500m")
    cpu_limit_raw = source.string("cpuLimit")
    cpu_limit = source.cpu("cpuLimit", "0") if cpu_limit_raw is not None else None
    memory_request = source.memory("memoryRequest", "1Gi")
    memory_limit = source.memory("memoryLimit", "2Gi")
    if cpu_limit is not None and cpu_millis(cpu_limit) < cpu_millis(cpu_request):
        raise SettingsError(
            source.key("cpuLimit"),
            f"{cpu_limit} is below liftoff:cpuRequest ({cpu_request}); allowed: at least it",
        )
    if memory_bytes(memory_limit) < memory_bytes(memory_request):
        raise SettingsError(
            source.key("memoryLimit"),
            f"{memory_limit} is below liftoff:memoryRequest ({memory_request}); allowed: at least it",
        )
    return Resources(cpu_request, cpu_limit, memory_request, memory_limit)


def _server(source: ConfigSource) -> ServerSettings:
    return ServerSettings(
        model_name=source.dns_label("modelName", "digits"),
        model_path=source.string("modelPath"),
        dtype=source.choice("dtype", DTYPES, default="float32"),
        max_batch_size=source.integer("maxBatchSize", 32, minimum=1, maximum=4096),
        max_batch_wait_ms=source.integer("maxBatchWaitMs", 2, minimum=0, maximum=10000),
        queue_limit=source.integer("queueLimit", 256, minimum=1, maximum=1_000_000),
        request_timeout_s=source.integer("requestTimeoutSeconds", 30, minimum=1, maximum=3600),
        drain_timeout_s=source.integer("drainTimeoutSeconds", 20, minimum=1, maximum=3600),
        log_level=source.choice("logLevel", LOG_LEVELS, default="info"),
    )
