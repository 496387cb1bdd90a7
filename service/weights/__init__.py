"""Weights outside the image: a model directory's `weights` (model.json, or LIFTOFF_WEIGHTS_URI) made local
before the model is loaded. See docs/your-model.md ("Weights in object storage")."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from service.weights.fetch import FetchOptions, FetchReport, WeightsFetchError, fetch_weights
from service.weights.manifest import MANIFEST_FILE, ManifestError, build_manifest
from service.weights.source import WeightsSourceError, is_uri, parse_uri

WEIGHTS_ERRORS = (WeightsFetchError, WeightsSourceError, ManifestError)
"""What making weights local raises: each a one-line message naming the object or setting."""

__all__ = [
    "MANIFEST_FILE",
    "WEIGHTS_ERRORS",
    "FetchOptions",
    "FetchReport",
    "ManifestError",
    "WeightsFetchError",
    "WeightsSourceError",
    "build_manifest",
    "default_weights_dir",
    "fetch_weights",
    "load_into",
    "load_safetensors",
    "make_weights_local",
    "weights_setting",
]

log = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    # The loaders import torch; the CLI and the fetch do not need it, so it is imported on first use.
    if name in ("load_into", "load_safetensors"):
        from service.weights import loading

        return getattr(loading, name)
    raise AttributeError(name)


def weights_setting(model_root: Path) -> str | None:
    """model.json's `weights`, or None when it has none (or the model is a bare file without a directory)."""
    try:
        data = json.loads((model_root / "model.json").read_text())
    except (OSError, ValueError):
        return None
    value = data.get("weights") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def default_weights_dir(uri: str) -> Path:
    """Outside a pod (no LIFTOFF_WEIGHTS_DIR): a cache folder per URI, so a restart by hand reuses it."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "liftoff" / "weights" / hashlib.sha256(uri.encode()).hexdigest()[:16]


def make_weights_local(
    model_root: Path,
    weights_uri: str | None,
    weights_dir: Path | None,
    options: FetchOptions | None = None,
) -> Path:
    """The folder the handler reads weights from (its context's `weights_dir`). A URI (LIFTOFF_WEIGHTS_URI, or
    else model.json's `weights`) is fetched and verified into `weights_dir` first; a relative path is that
    folder inside the model directory; no `weights` at all is the model directory itself."""
    value = weights_uri or weights_setting(model_root)
    if value is None:
        return model_root
    if not is_uri(value):
        folder = (model_root / value).resolve()
        if not folder.is_relative_to(model_root.resolve()) or not folder.is_dir():
            raise WeightsSourceError(
                f"{model_root / 'model.json'}: weights {value!r} is neither a URI (s3://, gs://, az://, "
                "https://) nor a folder inside the model directory"
            )
        return folder
    source = parse_uri(value)
    dest = weights_dir if weights_dir is not None else default_weights_dir(value)
    fetch_weights(source, dest, options)
    return dest
