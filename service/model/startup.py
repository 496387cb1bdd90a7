"""From settings to a warmed-up model: find the file (train the default one if missing), load, warm up."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from service.model.served import ServedModel, load_model
from service.settings import Settings

log = logging.getLogger(__name__)


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
    """Blocking: run it in a thread. Raises with a message a person can act on when the model cannot serve."""
    path = settings.resolved_model_path
    if settings.uses_default_model:
        path = ensure_default_model(path)
    model = load_model(path, settings.device, settings.dtype)
    model.warm_up(settings.max_batch_size)
    log.info("model %r is warmed up and ready", model.metadata.name)
    return model
