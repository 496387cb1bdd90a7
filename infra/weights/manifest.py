"""The weights manifest, `liftoff-weights.json`: every file's path, size, sha256 and object key.

The stack stores each file once under `blobs/<sha256>` (relative to the weights prefix), so a file's object
key changes exactly when its bytes do: an unchanged file keeps its key and is never uploaded again. The
server (service/weights/) reads the same document to know what to fetch and how to verify it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from service.weights.manifest import MANIFEST_FILE, sha256_file

BLOBS = "blobs"
_hashed: dict[tuple[str, int, int], str] = {}
"""sha256 by (path, size, mtime_ns): a run (a plan, a preview) reads each file once, however often it asks."""


@dataclass(frozen=True)
class WeightsFile:
    path: str
    """Where the file lands under LIFTOFF_WEIGHTS_DIR, POSIX-style, relative."""
    size: int
    sha256: str
    source: Path
    """The file on this machine, for the upload."""

    @property
    def object(self) -> str:
        """The object key relative to the weights prefix: content-addressed."""
        return f"{BLOBS}/{self.sha256}"


@dataclass(frozen=True)
class Manifest:
    files: tuple[WeightsFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(file.size for file in self.files)

    def to_json(self) -> str:
        """The document the stack uploads; stable for the same files (sorted, no machine paths)."""
        entries = [
            {"path": f.path, "size": f.size, "sha256": f.sha256, "object": f.object} for f in self.files
        ]
        return json.dumps({"files": entries}, indent=1, sort_keys=True) + "\n"

    @property
    def digest(self) -> str:
        """sha256 of the manifest: names one version of the weights (the pod template carries it)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()


def sha256_of(path: Path) -> str:
    """The file's sha256 (hashed as the server verifies it), once per run for an unchanged file."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    found = _hashed.get(key)
    if found is None:
        found = _hashed[key] = sha256_file(path)
    return found


def build_manifest(folder: Path) -> Manifest:
    """Every regular file under `folder` (symlinks and a stray manifest left out), sorted by path."""
    files = []
    for root, _dirs, names in os.walk(folder):
        for name in sorted(names):
            path = Path(root) / name
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink() or not path.is_file() or relative == MANIFEST_FILE:
                continue
            files.append(WeightsFile(relative, path.stat().st_size, sha256_of(path), path))
    return Manifest(tuple(sorted(files, key=lambda file: file.path)))
