"""Where a model directory's weights live: model.json's `weights`, a URI or a folder inside the directory.

`weights_location` is the one reader of that key on the infrastructure side: the stack (upload, pod size
and probes), the offline plan's summary and the cost estimate's cold start all ask it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from infra import model_directory
from infra.config_keys import SettingsError
from infra.weights.manifest import Manifest, build_manifest

SCHEMES = ("s3", "gs", "az", "https")
"""The URIs model.json may name (the server's fetch reads the same ones)."""
_ALLOWED = (
    "allowed: a URI (s3://bucket/prefix/, gs://bucket/prefix/, az://container/prefix/, https://...) or a "
    'folder inside the model directory ("weights/")'
)


@dataclass(frozen=True)
class ObjectPrefix:
    """A URI split the way every store names things: scheme, bucket (container) and key prefix."""

    scheme: str
    bucket: str
    prefix: str
    """No leading slash; ends in "/" unless empty (the bucket's root)."""

    @property
    def uri(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.prefix}"


def parse_uri(uri: str) -> ObjectPrefix:
    """ValueError when the URI is not one of `SCHEMES` with a bucket."""
    parts = urlsplit(uri)
    if parts.scheme not in SCHEMES or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(uri)
    prefix = parts.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return ObjectPrefix(parts.scheme, parts.netloc, prefix)


@dataclass(frozen=True)
class WeightsLocation:
    model_dir: str
    """`liftoff:model`, as set."""
    uri: ObjectPrefix | None
    """Set when model.json names a URI: nothing is uploaded."""
    folder: Path | None
    """Set when model.json names a local folder: the stack uploads it."""
    manifest: Manifest | None
    """The local folder's files, hashed; None for a URI."""
    total_bytes: int | None
    """The local files' total, or the declared size of a URI's (liftoff:weightsSize); None: not known."""

    @property
    def where(self) -> str:
        """One line for the plan: the URI, or the folder the stack uploads."""
        if self.uri is not None:
            return self.uri.uri
        return f"{self.model_dir.rstrip('/')}/{self.folder_name} (uploaded by pulumi up)"

    @property
    def folder_name(self) -> str:
        """The folder relative to the model directory, POSIX-style ("" for a URI)."""
        if self.folder is None:
            return ""
        return self.folder.relative_to(model_directory.resolve(self.model_dir)).as_posix()


def declared_weights(model_dir: str) -> str | None:
    """model.json's `weights` as written; None without the key."""
    path = model_directory.resolve(model_dir) / "model.json"
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # model_directory's own checks name an unreadable model.json
    value = loaded.get("weights") if isinstance(loaded, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(
            model_directory.KEY, f"{model_dir}/model.json's weights is not a string; {_ALLOWED}"
        )
    return value.strip()


def weights_location(model_dir: str | None, declared_size: int | None = None) -> WeightsLocation | None:
    """Where `model_dir`'s weights live and their total size; None when model.json names none.

    `declared_size` (liftoff:weightsSize) is the total of a URI's files, which cannot be read offline; for a
    local folder the files' own total wins.
    """
    if model_dir is None:
        return None
    value = declared_weights(model_dir)
    if value is None:
        return None
    where = f"{model_dir}/model.json's weights {value!r}"
    if "://" in value:
        try:
            uri = parse_uri(value)
        except ValueError:
            raise SettingsError(
                model_directory.KEY, f"{where} is not a URI Liftoff reads; {_ALLOWED}"
            ) from None
        return WeightsLocation(model_dir, uri, None, None, declared_size)
    root = model_directory.resolve(model_dir)
    folder = (root / value).resolve()
    if not folder.is_relative_to(root) or folder == root:
        raise SettingsError(model_directory.KEY, f"{where} is outside the model directory; {_ALLOWED}")
    if not folder.is_dir():
        raise SettingsError(model_directory.KEY, f"{where} is not a folder; {_ALLOWED}")
    manifest = build_manifest(folder)
    if not manifest.files:
        raise SettingsError(model_directory.KEY, f"{where} holds no files; allowed: a folder of weight files")
    return WeightsLocation(model_dir, None, folder, manifest, manifest.total_bytes)
