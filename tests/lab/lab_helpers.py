"""Shared parts of the lab's tests: load runs, load in the background while a test breaks things, and a
model slow enough that inference, not HTTP, limits a replica."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from types import TracebackType

import torch

from lab.loadtest import LoadReport, LoadSpec, plan_for, run_load
from lab.supervisor import Lab


def load(lab: Lab, users: int, seconds: float, honor_retry_after: bool = False) -> LoadReport:
    """A steady load run to its end, through the lab's proxy with its TLS and API key."""
    plan = plan_for("steady", users, seconds)
    spec = LoadSpec(lab.url, lab.inference_request(), plan, honor_retry_after=honor_retry_after)
    return asyncio.run(run_load(spec))


class BackgroundLoad:
    """Steady load on a thread from `with` until the block ends; `report` holds what happened."""

    def __init__(
        self,
        lab: Lab,
        users: int,
        limit_s: float = 120.0,
        retry_cut_off: int = 1,
        api_key: str | None = None,
    ) -> None:
        # By default one resend of a cut-off answer, what a client of a safe-to-repeat inference API does
        # when a replica dies mid-response (see LoadSpec.retry_cut_off); the tests print how often it
        # happened. 0: a client that never resends, whose every failure the server side must prevent.
        plan = plan_for("steady", users, limit_s)
        request = lab.inference_request(api_key=api_key)
        self._spec = LoadSpec(lab.url, request, plan, retry_cut_off=retry_cut_off)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="background-load")
        self._result: LoadReport | None = None

    def _run(self) -> None:
        self._result = asyncio.run(run_load(self._spec, stop_when=self._stop.is_set))

    def __enter__(self) -> BackgroundLoad:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=30.0)

    @property
    def report(self) -> LoadReport:
        assert self._result is not None, "the load thread did not finish"
        return self._result


class _SlowModel(torch.nn.Module):
    """About 17 million multiply-adds per row with 4 MiB of weights: the forward pass, not HTTP, is the
    bottleneck, as it is for real models (the digits model is so small that JSON parsing costs more)."""

    def __init__(self, width: int = 1024, depth: int = 16) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)

        def weights(rows: int, columns: int, scale: float) -> torch.nn.Parameter:
            values = torch.randn(rows, columns, generator=generator) * scale
            return torch.nn.Parameter(values, requires_grad=False)

        self.first = weights(64, width, 1 / 8.0)
        # He-scaled, so the activations stay finite through every pass of the same layer.
        self.hidden = weights(width, width, (2.0 / width) ** 0.5)
        self.last = weights(width, 10, width**-0.5)
        self.depth = depth

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        h = torch.relu(pixels @ self.first)
        for _ in range(self.depth):
            h = torch.relu(h @ self.hidden)
        return h @ self.last


def write_slow_model(directory: Path) -> Path:
    """A TorchScript file and its metadata that take the digits input ([N, 64] FP32), so /predict works."""
    path = directory / "slow.pt"
    torch.jit.script(_SlowModel()).save(str(path))
    metadata = {
        "name": "slow",
        "version": "1",
        "inputs": [{"name": "pixels", "datatype": "FP32", "shape": [-1, 64]}],
        "outputs": [{"name": "scores", "datatype": "FP32", "shape": [-1, 10]}],
    }
    path.with_suffix(".json").write_text(json.dumps(metadata))
    return path
