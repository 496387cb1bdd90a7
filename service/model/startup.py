"""From settings to a warmed-up model: find the file (train the default one if missing), load, warm up."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import torch

from service.handler import Handler, HandlerContext
from service.model.directory import ModelDirectory, open_model
from service.model.handler_import import import_handler
from service.model.served import (
    TORCH_DTYPES,
    ModelLoadError,
    ServedModel,
    is_torch_save,
    load_module,
    log_cpu_fallback,
    pick_device,
    prepare_module,
)
from service.settings import Settings

log = logging.getLogger(__name__)


def load_directory(
    directory: ModelDirectory, settings: Settings, weights_dir: Path | None = None
) -> ServedModel:
    """The directory through its handler, or the default Handler when it has none; not yet checked.

    A handler that keeps the default `predict` hands the forward pass to Liftoff, which runs the model file
    in LIFTOFF_DTYPE, optimized for the device. A handler with its own `predict` gets the model file as it
    was saved (in eval mode) and owns its precision; a `model.pt` saved with `torch.save` is left to it."""
    metadata = directory.metadata
    handler_class: type[Handler] = Handler
    model_file = directory.model_file
    if directory.handler_file is not None and model_file is not None and is_torch_save(model_file):
        model_file = None  # the handler loads it with its own class (context.directory / "model.pt")
    if directory.handler_file is not None:
        handler_class = import_handler(directory.handler_file, needs_setup_and_predict=model_file is None)
    if handler_class.decode is Handler.decode:
        for spec in metadata.inputs:
            if spec.datatype == "BYTES" and handler_class is Handler:
                raise ModelLoadError(
                    f"input {spec.name!r} is BYTES, which a model file cannot take: a handler.py beside it "
                    "decodes the bytes into tensors (python -m service init-model writes one)"
                )
            if spec.datatype == "BYTES":
                raise ModelLoadError(
                    f"input {spec.name!r} is BYTES, but {handler_class.__name__} keeps the default decode, "
                    "which passes bytes through: define decode to turn them into tensors"
                )
    device = pick_device(settings.device)
    module = None
    compute_dtype = None
    channels_last = False
    if model_file is not None and handler_class.predict is Handler.predict:
        module, metadata, compute_dtype, channels_last = prepare_module(
            model_file, device, settings.dtype, metadata
        )
    elif model_file is not None:
        module = load_module(model_file, device)
        if isinstance(module, torch.jit.ScriptModule):
            module.eval()
    if metadata.platform is None:
        kind = {".pt": "pytorch_torchscript", ".pt2": "pytorch_export"}
        metadata = metadata.model_copy(
            update={"platform": kind[model_file.suffix] if model_file is not None else "pytorch"}
        )
    context = HandlerContext(
        directory.root, metadata, device, TORCH_DTYPES[settings.dtype], module, weights_dir or directory.root
    )
    handler = handler_class()
    try:
        handler.setup(context)
    except Exception as exc:
        raise ModelLoadError(f"{type(handler).__name__}.setup failed: {type(exc).__name__}: {exc}") from exc
    return ServedModel(handler, context, compute_dtype, channels_last)


def local_weights(directory: ModelDirectory, settings: Settings) -> Path:
    """Where the model's weights are on this disk before it loads: the folder model.json's `weights` names
    inside the directory, else the directory itself."""
    folder = directory.metadata.local_weights
    return directory.root / folder if folder is not None else directory.root


def ensure_default_model(path: Path) -> Path:
    """The bundled digits model, trained now if this checkout has none yet (a few seconds on a laptop)."""
    if path.is_file() and path.with_suffix(".json").is_file():
        return path
    from service.model.train_digits import train  # needs scikit-learn, the `train` extra

    out_dir = path.parent
    log.warning("no default model at %s: training the digits model now (make model does this ahead)", path)
    try:
        accuracy = train(out_dir)
    except OSError as exc:  # a read-only app folder, as in a locked-down image
        out_dir = Path(tempfile.mkdtemp(prefix="liftoff-digits-"))
        log.warning("cannot write %s (%s): training into %s instead", path.parent, exc, out_dir)
        accuracy = train(out_dir)
    log.info("trained the digits model: held-out accuracy %.4f", accuracy)
    return out_dir / path.name


def prepare_model(settings: Settings) -> ServedModel:
    """Blocking: run it in a thread. The server's start-up and `python -m service check` alike: open the
    directory, make its weights local, load it, run the check. Raises with a message a person can act on
    when the model cannot serve."""
    path = settings.resolved_model_path
    if settings.uses_default_model:
        path = ensure_default_model(path)
    directory = open_model(path)
    log_cpu_fallback(settings.device, pick_device(settings.device))
    weights_dir = local_weights(directory, settings)
    model = load_directory(directory, settings, weights_dir)
    log.info("checked %s", model.warm_up(settings.max_batch_size))
    return model
