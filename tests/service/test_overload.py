"""Overload: past the queue limit the server answers 503 + Retry-After at once, and recovers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from service.settings import Settings

pytestmark = pytest.mark.anyio


async def test_a_full_queue_answers_503_with_retry_after_at_once_then_recovers(
    serve, linear_model: Path, gate, gated_load, until
) -> None:
    settings = Settings(model_path=linear_model, queue_limit=4, max_batch_size=4)
    async with serve(settings, load=gated_load) as client:
        state = client._transport.app.state.liftoff  # type: ignore[attr-defined]

        async def predict(rows: int):
            return await client.post("/predict", json={"instances": [[1, 2, 3]] * rows})

        running = asyncio.create_task(predict(1))  # taken into a forward pass, held there by the gate
        await gate.wait_entered()
        queued = [asyncio.create_task(predict(2)), asyncio.create_task(predict(2))]
        await until(lambda: state.batcher.queued_rows == 4)
        refused = await predict(1)  # answered while the gate is still shut: nothing waited on the model
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "capacity" in refused.json()["error"]

        gate.open()
        done = await asyncio.gather(running, *queued)
        assert [r.status_code for r in done] == [200, 200, 200]
        assert (await predict(3)).status_code == 200  # load dropped: served again
        metrics = (await client.get("/metrics")).text
    assert 'liftoff_rejected_total{reason="queue_full"} 1.0' in metrics
    assert 'liftoff_requests_total{method="POST",route="/predict",status="503"} 1.0' in metrics
