"""Importing a model directory's `handler.py` and finding its Handler class, with errors that name the line."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path

from service.handler import Handler
from service.model.served import ModelLoadError


def import_handler(path: Path, needs_setup_and_predict: bool) -> type[Handler]:
    """The one Handler subclass `path` defines. A handler that fails to import stops start-up naming the
    file and line; one without a model file beside it must define `setup` and `predict`."""
    module_name = f"liftoff_handler_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    folder = str(path.parent)
    # So handler.py can import its siblings (tokenizer.py, net.py), at import and later in setup or predict
    # alike: a process serves one model directory, so it stays on the path.
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ModelLoadError(f"{path.name} failed to import: {_where(exc, path)}") from exc
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Handler)
        and value is not Handler
        and value.__module__ == module_name
    ]
    if len(found) != 1:
        names = ", ".join(cls.__name__ for cls in found) or "none"
        raise ModelLoadError(
            f"{path.name} must define exactly one subclass of service.handler.Handler (found: {names})"
        )
    handler = found[0]
    if needs_setup_and_predict:
        missing = [name for name in ("setup", "predict") if getattr(handler, name) is getattr(Handler, name)]
        if missing:
            raise ModelLoadError(
                f"{path.name}: {handler.__name__} must define {' and '.join(missing)}, since the directory "
                "has no model file for the defaults to load"
            )
    return handler


def _where(exc: Exception, path: Path) -> str:
    """`handler.py line 12: NameError: ...`: the deepest line of the handler's own file."""
    line = exc.lineno if isinstance(exc, SyntaxError) and exc.filename == str(path) else None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    text = f"{type(exc).__name__}: {exc}"
    return f"{path.name} line {line}: {text}" if line is not None else text
