"""The model directory as the image build sees it: without its local weights folder.

The Dockerfile takes the model directory as a named build context, and BuildKit transfers a context whole
before any stage runs, so a 15 GB weights folder inside it would be sent and could be copied into the image.
When model.json names a local folder, the build gets a copy of the directory without it (the small files
only: model.json, handler.py, requirements.txt and the like), under out/, so the weights never travel to
the builder (the Dockerfile's model-files stage leaves them out of the image, and the image's version is
fingerprinted without them: infra/model_directory.py).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from infra import model_directory
from infra.weights.location import weights_location

STAGING = model_directory.REPO_ROOT / "out" / "model-context"


def build_context(model_dir: str) -> str:
    """What the image build gets as its `model` context: the model directory's own (model_directory), or
    the copy without the weights folder, relative to the project."""
    staged = staged_context(model_dir)
    if staged is None:
        return model_directory.build_context(model_dir)
    return staged.relative_to(model_directory.REPO_ROOT).as_posix()


def staged_context(model_dir: str) -> Path | None:
    """The copy of the directory without its local weights folder; None when it has none."""
    root = model_directory.resolve(model_dir)
    location = weights_location(model_dir)
    if location is None or location.folder is None:
        return None
    weights = location.folder
    staged = STAGING / hashlib.sha256(str(root).encode()).hexdigest()[:12]
    shutil.rmtree(staged, ignore_errors=True)

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {name for name in names if (Path(folder) / name).resolve() == weights}

    shutil.copytree(root, staged, ignore=ignore, symlinks=True)
    return staged
