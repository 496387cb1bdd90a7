"""A model directory: `model.json`, a model file or weights, an optional `handler.py`, anything else it needs.

    models/mine/
      model.json         name, version, inputs and outputs, the check's sample, weights kept outside
                         (service/model/metadata.py)
      model.pt           TorchScript, or model.pt2 (torch.export); optional when handler.py loads weights
                         (a torch.save file beside a handler is the handler's to load)
      handler.py         optional: one subclass of service.handler.Handler; without it, the default Handler
      requirements.txt   optional: installed into the image, under the project's pins
      labels.txt, ...    whatever the handler reads

A path to a model file (with its `.json` beside it) keeps working, as a directory of one model file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.model.metadata import METADATA_FILE, MetadataError, ModelMetadata, load_metadata

MODEL_FILES = ("model.pt", "model.pt2")
HANDLER_FILE = "handler.py"


@dataclass(frozen=True)
class ModelDirectory:
    root: Path
    metadata: ModelMetadata
    model_file: Path | None
    handler_file: Path | None


def open_model(path: Path) -> ModelDirectory:
    """What `LIFTOFF_MODEL_PATH` points at, checked: raises MetadataError naming what is missing."""
    if not path.is_dir():
        return ModelDirectory(path.parent, load_metadata(path), path, None)
    if not (path / METADATA_FILE).is_file():
        raise MetadataError(
            f"{path} has no {METADATA_FILE}: a model directory needs one declaring the model's name, "
            "version, inputs and outputs (python -m service init-model writes a starter directory)"
        )
    metadata = load_metadata(path)
    found = [path / name for name in MODEL_FILES if (path / name).is_file()]
    if len(found) > 1:
        raise MetadataError(f"{path} holds both {MODEL_FILES[0]} and {MODEL_FILES[1]}: keep the one to serve")
    handler = path / HANDLER_FILE
    model_file = found[0] if found else None
    handler_file = handler if handler.is_file() else None
    if model_file is None and handler_file is None:
        raise MetadataError(
            f"{path} has neither a model file ({' or '.join(MODEL_FILES)}) nor a {HANDLER_FILE} that "
            "loads the model's weights"
        )
    return ModelDirectory(path, metadata, model_file, handler_file)
