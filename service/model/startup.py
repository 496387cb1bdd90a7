"""From settings to a warmed-up model: find the file (train the default one if missing), load, warm up."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import torch

from service.handler import Handler, HandlerContext
from service.model.directory import ModelDirectory, open_model
from service.model.handled import HandledModel, LoadedModel
from service.model.handler_import import import_handler
from service.model.served import (
    TORCH_DTYPES,
    ModelLoadError,
    load_model,
    load_module,
    log_cpu_fallback,
    pick_device,
)
from service.settings import Settings
from service.weights import WEIGHTS_ERRORS, make_weights_local

log = logging.getLogger(__name__)


def load_handled(directory: ModelDirectory, settings: Settings, weights_dir: Path) -> HandledModel:
    assert directory.handler_file is not None
    handler_class = import_handler(
        directory.handler_file, needs_setup_and_predict=directory.model_file is None
    )
    device = pick_device(settings.device)
    module = None
    if directory.model_file is not None:
        module = load_module(directory.model_file, device)
        if isinstance(module, torch.jit.ScriptModule):
            module.eval()
    context = HandlerContext(
        directory.root, directory.metadata, device, TORCH_DTYPES[settings.dtype], module, weights_dir
    )
    if handler_class.decode is Handler.decode:
        for spec in directory.metadata.inputs:
            if spec.datatype == "BYTES":
                raise ModelLoadError(
                    f"input {spec.name!r} is BYTES, but {handler_class.__name__} keeps the default decode, "
                    "which passes bytes through: define decode to turn them into tensors"
                )
    handler = handler_class()
    try:
        handler.setup(context)
    except Exception as exc:
        raise ModelLoadError(f"{type(handler).__name__}.setup failed: {type(exc).__name__}: {exc}") from exc
    return HandledModel(handler, context)


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


def prepare_model(settings: Settings) -> LoadedModel:
    """Blocking: run it in a thread. Raises with a message a person can act on when the model cannot serve."""
    path = settings.resolved_model_path
    if settings.uses_default_model:
        path = ensure_default_model(path)
    directory = open_model(path)
    # Weights outside the image: fetched and verified here, before the handler's setup, warm-up and readiness.
    try:
        weights_dir = make_weights_local(directory.root, settings.weights_uri, settings.weights_dir)
    except WEIGHTS_ERRORS as exc:
        raise ModelLoadError(str(exc)) from None
    log_cpu_fallback(settings.device, pick_device(settings.device))
    model: LoadedModel
    if directory.handler_file is None:
        assert directory.model_file is not None  # open_model refuses a directory with neither
        model = load_model(directory.model_file, settings.device, settings.dtype, directory.metadata)
    else:
        model = load_handled(directory, settings, weights_dir)
    model.warm_up(settings.max_batch_size)
    log.info("model %r is warmed up and ready", model.metadata.name)
    return model
