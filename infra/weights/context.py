"""The model directory as the image build sees it: without its local weights folder.

The Dockerfile takes the model directory as a named build context, and BuildKit transfers a context whole
before any stage runs, so a 15 GB weights folder inside it would be sent and could be copied into the image.
When model.json names a local folder, the build gets a copy of the directory without it (the small files
only: model.json, handler.py, requirements.txt and the like), under out/, and the image's version is
fingerprinted over that copy: new weights change no image.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from infra import model_directory
from infra.weights.location import weights_location

STAGING = model_directory.REPO_ROOT / "out" / "model-context"


def build_context(model_dir: str) -> Path:
    """The directory to send as the `model` build context."""
    root = model_directory.resolve(model_dir)
    location = weights_location(model_dir)
    if location is None or location.folder is None:
        return root
    weights = location.folder
    staged = STAGING / hashlib.sha256(str(root).encode()).hexdigest()[:12]
    shutil.rmtree(staged, ignore_errors=True)

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {name for name in names if (Path(folder) / name).resolve() == weights}

    shutil.copytree(root, staged, ignore=ignore, symlinks=True)
    return staged


def fingerprint(context: Path) -> str:
    """12 hex digits over every file the build context holds."""
    digest = hashlib.sha256()
    for file in sorted(p for p in context.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(file.relative_to(context).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:12]
