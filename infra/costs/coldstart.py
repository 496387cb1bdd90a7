"""The cold-start budget: the stages from no GPU node to the first answer, each with its source, added up;
the timeouts a waiting request meets, checked against the total; and the break-even between scaling to
zero and one warm replica."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.costs.walk import LOAD_BALANCER, Holdings

COLD_START_FILE = Path(__file__).with_name("coldstart.yaml")
WEIGHTS_MANIFEST = "liftoff-weights.json"


@dataclass(frozen=True)
class Stage:
    name: str
    low_s: float | None
    high_s: float | None
    """None: unknown (the stage's source says why)."""
    kind: str
    read: dt.date
    source: str


@dataclass(frozen=True)
class Weights:
    location: str
    total_bytes: int | None


@dataclass(frozen=True)
class Budget:
    stages: list[Stage]

    @property
    def total(self) -> tuple[float, float] | None:
        if any(s.low_s is None or s.high_s is None for s in self.stages):
            return None
        return (sum(s.low_s or 0 for s in self.stages), sum(s.high_s or 0 for s in self.stages))


def load_data(path: Path = COLD_START_FILE) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    return loaded


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def weights_outside_image(model_dir: Path | None) -> Weights | None:
    """Where the model's weights live and their total size, when they are not in the image: model.json's
    `weights` (a URI or a local folder the stack uploads). A URI's size is known only from a local copy of
    its manifest; None when the model keeps its weights in the image."""
    if model_dir is None or not (model_dir / "model.json").is_file():
        return None
    try:
        declared = json.loads((model_dir / "model.json").read_text()).get("weights")
    except (json.JSONDecodeError, AttributeError):
        return None
    if not isinstance(declared, str) or not declared:
        return None
    if "://" in declared:
        return Weights(declared, None)
    folder = model_dir / declared
    manifest = folder / WEIGHTS_MANIFEST
    if manifest.is_file():
        files = json.loads(manifest.read_text()).get("files", [])
        return Weights(declared, sum(int(f.get("size", 0)) for f in files))
    if folder.is_dir():
        return Weights(declared, sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()))
    return Weights(declared, None)


def budget(h: Holdings, weights: Weights | None, data: dict[str, Any] | None = None) -> Budget:
    data = data or load_data()
    stages_data = data["stages"]
    cloud = h.cloud or ""

    def stage(key: str, name: str, low: float | None, high: float | None, source_extra: str = "") -> Stage:
        d = stages_data[key]
        source = d["source"] + (f"; {source_extra}" if source_extra else "")
        return Stage(name, low, high, d["kind"], _date(d["read"]), source)

    def fixed(key: str, name: str) -> Stage:
        seconds = stages_data[key]["seconds"]
        if isinstance(seconds, dict):
            seconds = seconds.get(cloud)
        low, high = seconds if seconds else (None, None)
        return stage(key, name, low, high)

    found = [
        fixed("scale_up_signal", "scale-up signal to a node asked for"),
        fixed("node_boot", "node provisioning: boot and join"),
        fixed("driver_and_device_plugin", "GPU driver and device plugin"),
    ]
    image = (data.get("image_pull_mb") or {}).get(h.image_variant or "", {})
    image_mb = image.get("mb")
    if image_mb:
        download = image_mb / stages_data["image_download"]["mb_per_s"]
        unpack = image_mb / 1000 * stages_data["image_unpack"]["seconds_per_gb"]
        size = f"{image_mb:,} MB of gzipped layers ({image.get('source')})"
        found.append(
            stage(
                "image_download", f"image pull: download, {h.image_variant} image", download, download, size
            )
        )
        found.append(stage("image_unpack", "image pull: unpack", unpack, unpack))
    else:
        variant = h.image_variant or "the"
        found.append(
            stage(
                "image_download",
                f"image pull, {variant} image",
                None,
                None,
                f"size unknown: {image.get('source', 'no measured size')}",
            )
        )
    if weights is not None:
        if weights.total_bytes is None:
            found.append(
                stage("weights_fetch", f"weights fetch from {weights.location}", None, None, "size unknown")
            )
        else:
            mb = weights.total_bytes / 1e6
            seconds = mb / stages_data["weights_fetch"]["mb_per_s"]
            found.append(
                stage(
                    "weights_fetch", f"weights fetch, {mb:,.1f} MB from {weights.location}", seconds, seconds
                )
            )
    found.append(fixed("model_load_and_warm_up", "model load and warm-up to ready"))
    return Budget(found)


@dataclass(frozen=True)
class Timeout:
    name: str
    seconds: int
    source: str


def timeouts(h: Holdings, data: dict[str, Any] | None = None) -> list[Timeout]:
    """The timeouts a request waiting through a cold start meets: the ones the plan sets, and the load
    balancer's idle timeout where the plan leaves the provider's default."""
    data = data or load_data()
    found = [Timeout(name, seconds, "the plan") for name, seconds in sorted(h.timeouts.items())]
    set_by_plan = any(name.startswith("load balancer idle timeout") for name in h.timeouts)
    if h.load_balancer and h.cloud in LOAD_BALANCER and not set_by_plan:
        item = LOAD_BALANCER[h.cloud][0]
        default = ((data.get("idle_timeouts") or {}).get(h.cloud) or {}).get(item)
        if default:
            found.append(
                Timeout(
                    f"{item} idle timeout (provider default)",
                    int(default["seconds"]),
                    f"{default['source']}, read {default['read']}",
                )
            )
    return found


def timeout_warnings(h: Holdings, budget_: Budget, data: dict[str, Any] | None = None) -> list[str]:
    total = budget_.total
    if h.min_replicas > 0 or total is None:
        return []
    return [
        f"{t.name} is {t.seconds} s, shorter than the cold-start budget ({total[0]:.0f} to {total[1]:.0f} s): "
        "a request that arrives at zero replicas may be cut off before its answer"
        for t in timeouts(h, data)
        if t.seconds < total[1]
    ]


def node_unneeded_s(h: Holdings, data: dict[str, Any] | None = None) -> tuple[int | None, str]:
    if h.node_unneeded_s is not None:
        return h.node_unneeded_s, "the plan"
    data = data or load_data()
    default = (data.get("node_unneeded_s") or {}).get(h.cloud or "")
    if default:
        return int(default["seconds"]), f"{default['source']}, read {default['read']}"
    return None, "not set by the plan and no documented default in infra/costs/coldstart.yaml"


@dataclass(frozen=True)
class BreakEven:
    requests_per_day: float
    session_s: float
    warm_per_day: float


def break_even(
    gpu_node_per_hour: float | None, budget_: Budget, idle_s: int | None, unneeded_s: int | None
) -> BreakEven | None:
    """Requests a day, spread apart, below which scaling to zero costs less than one warm replica: each such
    request keeps a GPU node for a cold start plus the idle period before the pod goes plus the time the
    autoscaler waits before it removes the empty node; a warm replica keeps one all day."""
    total = budget_.total
    if gpu_node_per_hour is None or total is None or idle_s is None or unneeded_s is None:
        return None
    session_s = total[1] + idle_s + unneeded_s
    return BreakEven(86400 / session_s, session_s, gpu_node_per_hour * 24)
