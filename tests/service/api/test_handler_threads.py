"""Where a handler's code runs: decode and encode in the decode pool, never on the event loop; a setup that
raises keeps readiness down with a generic answer and the reason in the log."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from service.settings import Settings
from tests.service.conftest import LINEAR_METADATA

pytestmark = pytest.mark.anyio

# decode blocks until the test releases it, and both decode and encode record the thread they ran on.
SLOW_DECODE_HANDLER = """
import threading

from service.handler import Handler


class SlowDecode(Handler):
    def setup(self, context):
        super().setup(context)
        self.decoding = threading.Event()
        self.release = threading.Event()
        self.release.set()  # the warm-up's check decodes too; the test holds the requests after it
        self.threads = {}

    def decode(self, inputs):
        self.threads["decode"] = threading.current_thread()
        self.decoding.set()
        if not self.release.wait(10):  # on the event loop, this would stall the test's own requests
            raise RuntimeError("never released")
        return [inputs["x"]]

    def predict(self, x):
        return x[:, :2]

    def encode(self, outputs):
        self.threads["encode"] = threading.current_thread()
        return {"y": outputs["y"]}
"""

FAILING_SETUP_HANDLER = """
from service.handler import Handler


class BrokenSetup(Handler):
    def setup(self, context):
        raise RuntimeError("the weights at /secret/weights.bin are missing")

    def predict(self, x):
        return x
"""


def model_dir(tmp_path: Path, handler: str) -> Path:
    root = tmp_path / "linear"
    root.mkdir()
    (root / "model.json").write_text(json.dumps(LINEAR_METADATA))
    (root / "handler.py").write_text(handler)
    return root


async def test_a_slow_decode_runs_in_the_pool_while_the_loop_keeps_answering(
    serve, tmp_path: Path, until
) -> None:
    async with serve(Settings(model_path=model_dir(tmp_path, SLOW_DECODE_HANDLER))) as client:
        handler = client._transport.app.state.liftoff.model.handler  # type: ignore[attr-defined]
        loop_thread = threading.current_thread()
        handler.decoding.clear()
        handler.release.clear()
        pending = asyncio.create_task(client.post("/predict", json={"instances": [[1, 2, 3]]}))
        await until(handler.decoding.is_set)
        # decode is blocked right now: the loop still serves other requests.
        live = await client.get("/healthz")
        assert not pending.done()
        handler.release.set()
        answer = await pending
    assert live.status_code == 200
    assert answer.status_code == 200 and answer.json() == {"predictions": [[1.0, 2.0]]}
    for step in ("decode", "encode"):
        assert handler.threads[step] is not loop_thread
        assert handler.threads[step].name.startswith("liftoff-decode")


async def test_a_setup_that_raises_keeps_readiness_down_with_a_generic_answer(
    serve, tmp_path: Path, caplog: pytest.LogCaptureFixture, until
) -> None:
    directory = model_dir(tmp_path, FAILING_SETUP_HANDLER)
    async with serve(Settings(model_path=directory), wait_ready=False) as client:
        state = client._transport.app.state.liftoff  # type: ignore[attr-defined]
        await until(lambda: state.load_error)
        ready = await client.get("/readyz")
        live = await client.get("/healthz")
    assert ready.status_code == 503 and live.status_code == 200
    error = ready.json()["error"]
    assert "failed to load" in error and "server log" in error
    for leak in ("weights", "/secret", "RuntimeError", "handler.py", str(directory)):
        assert leak not in error
    assert "the weights at /secret/weights.bin are missing" in caplog.text
