"""A TorchServe handler run unchanged inside Liftoff: the archive's `handle(data, context)` is the batched pass.

TorchServe hands its handler a list of requests (its batch, gathered by `batchSize`/`maxBatchDelay`) and takes
back one answer each. Here Liftoff's batcher gathers the batch: each request is one row of the model's `body`
input (a `RawRequest` from `/predictions`, or plain bytes from the Open Inference Protocol), and `predict`
passes the rows to the handler as TorchServe would, then turns each answer into bytes with its content type.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import io
import json
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from service.handler import Handler, HandlerContext
from service.model.served import ModelLoadError
from service.torchserve.archive import ARCHIVE_FOLDER, BUILTIN_HANDLERS, MANIFEST, TORCHSERVE_REQUIREMENT
from service.torchserve.context import Context

JSON = "application/json"
SERVER_VERSION = "liftoff"

EntryPoint = Callable[[Any, Context], Any]


class RawRequest(bytes):
    """A `/predictions` body with what a TorchServe handler also reads: its content type, its headers and,
    for a form upload, its parts by name."""

    content_type: str
    headers: Mapping[str, str]
    parts: Mapping[str, bytes] | None

    def __new__(
        cls,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str],
        parts: Mapping[str, bytes] | None = None,
    ) -> RawRequest:
        request = super().__new__(cls, body)
        request.content_type = content_type
        request.headers = headers
        request.parts = parts
        return request


def request_data(item: bytes) -> dict[str, Any]:
    """One request as TorchServe's handler receives it: the raw body under "body" (a form's parts under
    their names), JSON bodies decoded, text bodies as str, anything else as bytes."""
    if isinstance(item, RawRequest):
        if item.parts is not None:
            return {name: bytes(value) for name, value in item.parts.items()}
        return {"body": _value(bytes(item), item.content_type)}
    return {"body": bytes(item)}


def _value(body: bytes, content_type: str) -> Any:
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        if media == JSON:
            return json.loads(body)
        if media.startswith("text"):
            return body.decode("utf-8")
    except ValueError:
        pass  # TorchServe hands over the bytes it could not decode
    return body


def answer_bytes(answer: Any) -> tuple[bytes, str]:
    """An answer as TorchServe writes it: bytes as they are, text as UTF-8, a tensor as torch.save's bytes,
    anything else as JSON (indented, as TorchServe indents it)."""
    if isinstance(answer, bytes | bytearray):
        return bytes(answer), "application/octet-stream"
    if isinstance(answer, str):
        return answer.encode("utf-8"), "text/plain; charset=utf-8"
    if isinstance(answer, torch.Tensor):
        buffer = io.BytesIO()
        torch.save(answer, buffer)
        return buffer.getvalue(), "application/octet-stream"
    try:
        return json.dumps(answer, indent=2).encode("utf-8"), JSON
    except TypeError:
        raise TypeError(
            f"the TorchServe handler answered a {type(answer).__name__}, which is not bytes, str, a tensor or "
            "JSON-serialisable"
        ) from None


class TorchServeHandler(Handler):
    def setup(self, context: HandlerContext) -> None:
        super().setup(context)
        folder = context.directory / ARCHIVE_FOLDER
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        model = manifest["model"]
        config_file = model.get("configFile")
        config = {}
        if config_file:  # PyYAML comes with the archive's requirements (the importer adds it)
            import yaml

            config = yaml.safe_load((folder / config_file).read_text(encoding="utf-8"))
        gpu_id = (context.device.index or 0) if context.device.type == "cuda" else None
        batch_size = config.get("batchSize") if isinstance(config, dict) else None
        self.ts_context = Context(
            model_name=str(model["modelName"]),
            model_dir=str(folder),
            manifest=manifest,
            batch_size=batch_size if isinstance(batch_size, int) else 1,
            gpu_id=gpu_id,
            server_version=SERVER_VERSION,
            model_yaml_config=config if isinstance(config, dict) else {},
        )
        self.entry, initialize = _entry_point(folder, str(model["handler"]))
        initialize(self.ts_context)

    def decode(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """The bodies pass through as they came: TorchServe's handler decodes them, a batch at a time."""
        return [inputs["body"]]

    def predict(self, *batch: torch.Tensor) -> dict[str, np.ndarray]:
        items = list(np.asarray(batch[0], dtype=object).reshape(-1))
        data = [request_data(item) for item in items]
        self.ts_context.begin_batch(
            [item.headers if isinstance(item, RawRequest) else {} for item in items],
            [uuid.uuid4().hex for _ in items],
        )
        answers = self.entry(data, self.ts_context)
        if not isinstance(answers, list | tuple) or len(answers) != len(data):
            got = len(answers) if isinstance(answers, list | tuple) else type(answers).__name__
            raise RuntimeError(f"the TorchServe handler answered {got} for a batch of {len(data)} request(s)")
        bodies = np.empty(len(data), dtype=object)
        types = np.empty(len(data), dtype=object)
        for index, answer in enumerate(answers):
            body, default_type = answer_bytes(answer)
            bodies[index] = body
            types[index] = (self.ts_context.get_response_content_type(index) or default_type).encode()
        return {"body": bodies, "content_type": types}


def _entry_point(folder: Path, handler: str) -> tuple[EntryPoint, Callable[[Context], Any]]:
    """The handler's entry as TorchServe's documented contract finds it: `module:function`, else the
    module's `handle` function, else the one class the module defines (`initialize` then `handle`)."""
    module_name, _, function = handler.partition(":")
    module_name = module_name.removesuffix(".py").split("/")[-1]
    # The archive's folder stays on the path, as TorchServe keeps model_dir there: handlers import their
    # extra files at request time too.
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    module = _import(folder, module_name)
    name = function or "handle"
    entry = getattr(module, name, None)
    if callable(entry) and not inspect.isclass(entry):
        return entry, lambda ctx: entry(None, ctx)
    if function:
        raise ModelLoadError(f"the TorchServe handler {module_name}.py has no function {function!r}")
    classes = [
        value
        for value in vars(module).values()
        if inspect.isclass(value) and value.__module__ == module.__name__
    ]
    if len(classes) != 1:
        names = ", ".join(cls.__name__ for cls in classes) or "none"
        raise ModelLoadError(
            f"the TorchServe handler {module_name}.py must define a handle() function or exactly one class "
            f"(found: {names})"
        )
    service = classes[0]()
    handle = getattr(service, "handle", None)
    if not callable(handle):
        raise ModelLoadError(f"the TorchServe handler class {classes[0].__name__} has no handle method")
    initialize = getattr(service, "initialize", None)
    return handle, initialize if callable(initialize) else (lambda ctx: None)


def _import(folder: Path, module_name: str) -> Any:
    path = folder / f"{module_name}.py"
    try:
        if path.exists():
            spec = importlib.util.spec_from_file_location(module_name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            return module
        if module_name in BUILTIN_HANDLERS:
            return importlib.import_module(f"ts.torch_handler.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name == "ts" or (exc.name or "").startswith("ts."):
            raise ModelLoadError(
                f"the TorchServe handler {module_name} imports TorchServe's ts package: list "
                f"{TORCHSERVE_REQUIREMENT} in the model's requirements.txt"
            ) from None
        raise ModelLoadError(
            f"the TorchServe handler {module_name} imports {exc.name!r}, which is not installed: list it in "
            "the model's requirements.txt"
        ) from None
    raise ModelLoadError(
        f"the TorchServe handler {module_name!r} is neither a file of the archive nor a default"
    )
