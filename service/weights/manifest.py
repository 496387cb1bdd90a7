"""`liftoff-weights.json`: the list of files a weights prefix holds, with each one's size and sha256.

    {"files": [{"path": "model.safetensors", "size": 123, "sha256": "<hex>", "object": "blobs/<hex>"}]}

`path` is where the file lands in the local weights folder; `object` (default: `path`) is its key under the
prefix, so a stack can upload content-addressed (`blobs/<sha256>`) while the handler still reads
`model.safetensors`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MANIFEST_FILE = "liftoff-weights.json"
HASH_CHUNK = 8 * 1024 * 1024


class ManifestError(ValueError):
    """A manifest that is missing, unreadable or names files the fetch could not place safely."""


class WeightsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(min_length=1)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    object: str | None = None

    @field_validator("path")
    @classmethod
    def _stays_inside(cls, value: str) -> str:
        # The path becomes a file under LIFTOFF_WEIGHTS_DIR: one that climbs out or is absolute could
        # overwrite anything the server can write.
        parts = PurePosixPath(value).parts
        if value.startswith("/") or "\\" in value or not parts or any(p in ("..", ".") for p in parts):
            raise ValueError("must be a relative path inside the weights folder, without '..'")
        if parts[-1] == MANIFEST_FILE:
            raise ValueError(f"cannot be {MANIFEST_FILE}, which the fetch writes itself")
        return value

    @field_validator("object")
    @classmethod
    def _relative_key(cls, value: str | None) -> str | None:
        if value is not None and (not value or value.startswith("/") or ".." in PurePosixPath(value).parts):
            raise ValueError("must be an object key relative to the weights prefix, without '..'")
        return value

    @property
    def key(self) -> str:
        return self.object if self.object is not None else self.path


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    files: tuple[WeightsFile, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _paths_unique(self) -> Manifest:
        seen: set[str] = set()
        for entry in self.files:
            if entry.path in seen:
                raise ValueError(f"path {entry.path!r} is listed twice")
            seen.add(entry.path)
        return self

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.files)

    def dumps(self) -> str:
        return json.dumps(self.model_dump(exclude_none=True), indent=2) + "\n"


def parse_manifest(raw: bytes, where: str) -> Manifest:
    """`where` names the manifest in errors (its URI or file)."""
    try:
        return Manifest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ManifestError(f"{where}: {field}: {first['msg']}") from None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(folder: Path, content_addressed: bool = False) -> Manifest:
    """Every file under `folder` (but a manifest already there), with its size and sha256."""
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative == MANIFEST_FILE:
            continue
        digest = sha256_file(path)
        files.append(
            WeightsFile(
                path=relative,
                size=path.stat().st_size,
                sha256=digest,
                object=f"blobs/{digest}" if content_addressed else None,
            )
        )
    if not files:
        raise ManifestError(f"{folder} holds no files to list")
    return Manifest(files=tuple(files))
