"""Fixtures for the server's tests: small models with answers known by hand, and an app to talk to.

    async def test_x(serve, linear_model):
        async with serve(Settings(model_path=linear_model)) as client:
            response = await client.post("/v2/models/linear/infer", json={...})

`serve` runs the app's lifespan (model load, warm-up, batcher) and talks to it over httpx's ASGI
transport: real HTTP semantics, no socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import torch
from torch import nn

from service.app import ModelLoader, create_app
from service.model.served import ServedModel, load_model
from service.model.startup import prepare_model
from service.settings import Settings
from service.state import ServerState

# y = W x + b, chosen so every answer is exact in float32 and easy to check by hand (the tests spell
# the same formula out):  y0 = x0 + 2 x1 + 3 x2 + 0.5      y1 = 4 x0 + 5 x1 + 6 x2 - 1
WEIGHT = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
BIAS = [0.5, -1.0]


def write_model(module: nn.Module, path: Path, metadata: dict[str, Any]) -> Path:
    torch.jit.save(torch.jit.script(module), str(path))
    path.with_suffix(".json").write_text(json.dumps(metadata))
    return path


def handler_model(folder: Path, metadata: dict[str, Any], handler: str) -> Path:
    """A model directory, `folder/<its name>`: the metadata as model.json, and `handler` as handler.py."""
    root = folder / metadata["name"]
    root.mkdir()
    (root / "model.json").write_text(json.dumps(metadata))
    (root / "handler.py").write_text(handler)
    return root


LINEAR_METADATA = {
    "name": "linear",
    "version": "3",
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
    "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
}


@pytest.fixture
def linear_model(tmp_path: Path) -> Path:
    """A fixed-weight nn.Linear(3, 2) as TorchScript, with its metadata beside it."""
    layer = nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(WEIGHT))
        layer.bias.copy_(torch.tensor(BIAS))
    return write_model(layer, tmp_path / "linear.pt", LINEAR_METADATA)


class _Failing(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("this model always fails")


@pytest.fixture
def failing_model(tmp_path: Path) -> Path:
    """Loads fine, fails its warm-up: the server must stay alive and never become ready."""
    return write_model(_Failing(), tmp_path / "failing.pt", LINEAR_METADATA)


class Gate:
    """Holds the inference thread inside a forward pass until released, so tests decide what queues up
    meanwhile. Records the rows of every forward pass."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[int] = []
        self.closed = True

    def wrap(self, model: ServedModel) -> ServedModel:
        forward = model.forward
        gate = self

        def gated(inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
            gate.batches.append(int(inputs[0].shape[0]))
            if gate.closed:
                gate.entered.set()
                if not gate.release.wait(timeout=30):
                    raise TimeoutError("test gate never released")
            return forward(inputs)

        model.forward = gated  # type: ignore[method-assign]
        return model

    def open(self) -> None:
        self.closed = False
        self.release.set()

    async def wait_entered(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, 10), "no forward pass started"


def gated_loader(gate: Gate) -> ModelLoader:
    def load(settings: Settings) -> ServedModel:
        model = load_model(settings.resolved_model_path, settings.device, settings.dtype)
        model.warm_up(settings.max_batch_size)  # before the gate: warm-up must not block
        gate.batches.clear()
        return gate.wrap(model)

    return load


@pytest.fixture
def gate() -> Gate:
    gate = Gate()
    yield gate
    gate.open()  # never leave the inference thread stuck behind a failed test


@pytest.fixture
def until() -> Callable[..., Any]:
    """`await until(lambda: condition)`: poll briefly, fail the test if it never holds."""

    async def wait(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return
            await asyncio.sleep(0.002)
        raise AssertionError("condition never held")

    return wait


@pytest.fixture
def gated_load(gate: Gate) -> ModelLoader:
    """A model loader whose forward passes wait at `gate`."""
    return gated_loader(gate)


Serve = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def serve() -> Serve:
    @contextlib.asynccontextmanager
    async def serving(
        settings: Settings, load: ModelLoader = prepare_model, wait_ready: bool = True
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings, load=load)
        state: ServerState = app.state.liftoff
        async with app.router.lifespan_context(app):
            if wait_ready:
                for _ in range(3000):  # a minute: loading is slow on a busy machine
                    if state.ready or state.load_error:
                        break
                    await asyncio.sleep(0.02)
                assert state.ready, f"model never became ready: {state.load_error}"
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://liftoff.test") as client:
                yield client

    return serving


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """torch 2.13 marks TorchScript deprecated; these tests build TorchScript models on purpose."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(
                pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")
            )
