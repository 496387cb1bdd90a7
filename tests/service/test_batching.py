"""Dynamic batching: concurrent requests share forward passes and each caller gets exactly its own rows."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from service.batching import INLINE_FORWARD_S, Batcher, BatchLimits, Rejected
from service.metrics import Metrics
from service.model.served import load_model
from service.settings import Settings

pytestmark = pytest.mark.anyio


def by_hand(rows: list[list[float]]) -> list[list[float]]:
    """The fixed-weight linear model's answers: y0 = x0 + 2 x1 + 3 x2 + 0.5, y1 = 4 x0 + 5 x1 + 6 x2 - 1."""
    return [[a + 2 * b + 3 * c + 0.5, 4 * a + 5 * b + 6 * c - 1] for a, b, c in rows]


def rows_for(caller: int, count: int) -> list[list[float]]:
    """Distinct rows per caller, so a row delivered to the wrong caller cannot go unnoticed."""
    return [[caller, row, caller * 10 + row] for row in range(count)]


HOUR_S = 3600.0
"""A batch window no test waits out."""
NEVER_S = 60.0
"""A guard far inside the window, far outside any pass: reaching it means the request waited for the window."""


def limits(**overrides: float) -> BatchLimits:
    values = {"max_batch_size": 16, "max_batch_wait_s": 0.0, "queue_limit": 256, "request_timeout_s": 10.0}
    values.update(overrides)
    return BatchLimits(
        int(values["max_batch_size"]),
        values["max_batch_wait_s"],
        int(values["queue_limit"]),
        values["request_timeout_s"],
    )


async def test_requests_queued_during_a_forward_pass_share_the_next_one(
    linear_model: Path, gate, until
) -> None:
    model = gate.wrap(load_model(linear_model, "cpu", "float32"))
    batcher = Batcher(model.forward, limits(), Metrics())
    batcher.start()
    try:
        sizes = [2, 1, 3, 5, 1, 4]
        first = asyncio.create_task(batcher.infer([np.array(rows_for(0, sizes[0]), np.float32)]))
        await gate.wait_entered()  # the first request's forward pass is running; the rest queue behind it
        rest = [
            asyncio.create_task(batcher.infer([np.array(rows_for(i, n), np.float32)]))
            for i, n in enumerate(sizes[1:], start=1)
        ]
        await until(lambda: batcher.queued_rows == sum(sizes[1:]))
        gate.open()
        results = await asyncio.gather(first, *rest)
    finally:
        await batcher.stop()
    assert gate.batches == [2, sum(sizes[1:])]
    for caller, (size, outputs) in enumerate(zip(sizes, results, strict=True)):
        assert outputs["y"].tolist() == by_hand(rows_for(caller, size))


async def test_a_batch_never_exceeds_the_max_batch_size(linear_model: Path, gate, until) -> None:
    model = gate.wrap(load_model(linear_model, "cpu", "float32"))
    batcher = Batcher(model.forward, limits(max_batch_size=4), Metrics())
    batcher.start()
    try:
        first = asyncio.create_task(batcher.infer([np.array(rows_for(0, 1), np.float32)]))
        await gate.wait_entered()
        sizes = [3, 2, 2, 1, 4]
        rest = []
        for caller, size in enumerate(sizes, start=1):  # queued in this order
            rest.append(asyncio.create_task(batcher.infer([np.array(rows_for(caller, size), np.float32)])))
            await asyncio.sleep(0)
        await until(lambda: batcher.queued_rows == sum(sizes))
        gate.open()
        results = await asyncio.gather(first, *rest)
    finally:
        await batcher.stop()
    # Requests are never split and keep their order: [3] (2 does not fit), [2, 2], [1], [4].
    assert gate.batches == [1, 3, 4, 1, 4]
    for caller, outputs in enumerate(results):
        size = [1, *sizes][caller]
        assert outputs["y"].tolist() == by_hand(rows_for(caller, size))


async def test_concurrent_http_requests_of_different_sizes_each_get_their_own_rows(
    serve, linear_model: Path
) -> None:
    settings = Settings(model_path=linear_model, max_batch_size=64, max_batch_wait_ms=5)
    async with serve(settings) as client:
        sizes = [1, 7, 2, 5, 3, 1, 8, 4, 6, 2, 1, 3]

        async def call(caller: int, size: int) -> list[list[float]]:
            rows = rows_for(caller, size)
            body = {"inputs": [{"name": "x", "shape": [size, 3], "datatype": "FP32", "data": rows}]}
            response = await client.post("/v2/models/linear/infer", json=body)
            assert response.status_code == 200, response.text
            out = response.json()["outputs"][0]
            assert out["shape"] == [size, 2]
            return np.array(out["data"]).reshape(size, 2).tolist()

        results = await asyncio.gather(*(call(i, n) for i, n in enumerate(sizes)))
        metrics = (await client.get("/metrics")).text
    for caller, (size, got) in enumerate(zip(sizes, results, strict=True)):
        assert got == by_hand(rows_for(caller, size))
    # Fewer forward passes than requests: some requests shared one.
    passes = _sample(metrics, "liftoff_batch_size_count")
    assert _sample(metrics, "liftoff_batch_size_sum") == sum(sizes)
    assert passes < len(sizes)


async def test_a_lone_request_on_an_idle_server_does_not_wait_for_a_batch_to_fill(linear_model: Path) -> None:
    model = load_model(linear_model, "cpu", "float32")
    batcher = Batcher(model.forward, limits(max_batch_wait_s=HOUR_S), Metrics())
    batcher.start()
    try:
        # The window is an hour: a request that waited for it would never come back within the guard.
        outputs = await asyncio.wait_for(batcher.infer([np.array([[1, 2, 3]], np.float32)]), NEVER_S)
    finally:
        await batcher.stop()
    assert outputs["y"].tolist() == by_hand([[1, 2, 3]])


async def test_a_batch_waits_for_a_request_still_on_its_way_in(linear_model: Path, gate, until) -> None:
    gate.open()  # record batches only
    model = gate.wrap(load_model(linear_model, "cpu", "float32"))
    batcher = Batcher(model.forward, limits(max_batch_wait_s=5.0), Metrics())
    batcher.start()
    try:
        with batcher.incoming():  # a second request is being read while the first is queued
            first = asyncio.create_task(batcher.infer([np.array([[1, 0, 0]], np.float32)]))
            await asyncio.sleep(0.05)
            assert not first.done(), "the first request ran without waiting for the one coming in"
        second = await batcher.infer([np.array([[0, 1, 2]], np.float32)])
        assert (await first)["y"].tolist() == by_hand([[1, 0, 0]])
        assert second["y"].tolist() == by_hand([[0, 1, 2]])
    finally:
        await batcher.stop()
    assert gate.batches == [2]


async def test_a_batch_stops_waiting_when_the_incoming_request_turns_out_bad(
    linear_model: Path, gate
) -> None:
    gate.open()
    model = gate.wrap(load_model(linear_model, "cpu", "float32"))
    batcher = Batcher(model.forward, limits(max_batch_wait_s=HOUR_S), Metrics())
    batcher.start()
    try:
        with contextlib.suppress(ValueError), batcher.incoming():
            first = asyncio.create_task(batcher.infer([np.array([[1, 0, 0]], np.float32)]))
            await asyncio.sleep(0.05)
            raise ValueError("the second request failed to parse and never reaches the batcher")
        # Waiting for the request that was never coming would take the hour's window.
        assert (await asyncio.wait_for(first, NEVER_S))["y"].tolist() == by_hand([[1, 0, 0]])
    finally:
        await batcher.stop()
    assert gate.batches == [1]


async def test_the_forward_pass_runs_off_the_event_loop(linear_model: Path, gate) -> None:
    """The first pass, with no earlier pass to judge its length by, and any pass that may be long."""
    model = gate.wrap(load_model(linear_model, "cpu", "float32"))
    batcher = Batcher(model.forward, limits(), Metrics())
    batcher.start()
    try:
        task = asyncio.create_task(batcher.infer([np.array([[1, 1, 1]], np.float32)]))
        await gate.wait_entered()
        # The forward pass is blocked in its thread, yet the loop still runs other coroutines.
        ticks = 0
        for _ in range(5):
            await asyncio.sleep(0.001)
            ticks += 1
        assert ticks == 5 and not task.done()
        gate.open()
        assert (await task)["y"].tolist() == by_hand([[1, 1, 1]])
    finally:
        await batcher.stop()


async def test_only_passes_shorter_than_the_thread_hand_off_run_on_the_event_loop() -> None:
    """A pass judged (by the last one's time per row) to take under INLINE_FORWARD_S runs on the loop; one
    that turns slow there costs the loop that one pass, and the next goes back to the inference thread."""
    slow_from = 4
    ran_on: list[str] = []

    def forward(inputs: list[np.ndarray]) -> list[np.ndarray]:
        ran_on.append(threading.current_thread().name)
        if len(ran_on) >= slow_from:
            time.sleep(INLINE_FORWARD_S * 10)
        return [inputs[0] * 2]

    batcher = Batcher(forward, limits(), Metrics())
    batcher.start()
    loop_thread = threading.current_thread().name
    try:
        for value in range(6):
            outputs = await batcher.infer([np.full((1, 3), value, np.float32)])
            assert outputs[0].tolist() == [[2 * value] * 3]
    finally:
        await batcher.stop()
    on_loop = [name == loop_thread for name in ran_on]
    # 1: nothing to judge by; 2-3: fast, on the loop; 4: turned slow, on the loop once; 5-6: on the thread.
    assert on_loop == [False, True, True, True, False, False]
    assert ran_on[0].startswith("liftoff-inference")


async def test_a_request_past_its_deadline_is_refused_and_counted(linear_model: Path, gate) -> None:
    model = gate.wrap(load_model(linear_model, "cpu", "float32"))
    metrics = Metrics()
    batcher = Batcher(model.forward, limits(request_timeout_s=0.2), metrics)
    batcher.start()
    try:
        first = asyncio.create_task(batcher.infer([np.array([[1, 1, 1]], np.float32)]))
        await gate.wait_entered()
        with pytest.raises(Rejected) as refused:
            await batcher.infer([np.array([[2, 2, 2]], np.float32)])
        assert refused.value.reason == "deadline"
        gate.open()
        with pytest.raises(Rejected):  # the first one also outlived its deadline while the gate was shut
            await first
    finally:
        await batcher.stop()
    assert metrics.rejected.labels(reason="deadline")._value.get() == 2
    assert gate.batches == [1]  # the expired request never cost a forward pass


def _sample(exposition: str, name: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_stopping_refuses_queued_and_running_requests_as_draining(
    linear_model: Path, gate, until
) -> None:
    model = gate.wrap(load_model(linear_model, "cpu", "float32"))
    metrics = Metrics()
    batcher = Batcher(model.forward, limits(max_batch_size=1), metrics)
    batcher.start()
    running = asyncio.create_task(batcher.infer([np.array([[1, 1, 1]], np.float32)]))
    await gate.wait_entered()
    queued = asyncio.create_task(batcher.infer([np.array([[2, 2, 2]], np.float32)]))
    await until(lambda: batcher.queued_rows == 1)
    await batcher.stop()
    for task in (running, queued):
        with pytest.raises(Rejected) as refused:
            await task
        assert refused.value.reason == "draining"
    with pytest.raises(Rejected, match="shutting down"):
        await batcher.infer([np.array([[3, 3, 3]], np.float32)])
    assert metrics.rejected.labels(reason="draining")._value.get() == 3
    assert batcher.queued_rows == 0


class _RefusesNegatives(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool((x < 0).any()):
            raise ValueError("negative input")
        return x * 2.0


async def test_a_request_the_model_fails_on_does_not_fail_its_batch_mates(
    tmp_path: Path, gate, until
) -> None:
    path = tmp_path / "picky.pt"
    torch.jit.save(torch.jit.script(_RefusesNegatives()), str(path))
    spec = {"datatype": "FP32", "shape": [-1, 3]}
    path.with_suffix(".json").write_text(
        json.dumps({"name": "picky", "inputs": [{"name": "x", **spec}], "outputs": [{"name": "y", **spec}]})
    )
    model = gate.wrap(load_model(path, "cpu", "float32"))
    batcher = Batcher(model.forward, limits(), Metrics())
    batcher.start()
    try:
        first = asyncio.create_task(batcher.infer([np.array([[1, 1, 1]], np.float32)]))
        await gate.wait_entered()
        good = asyncio.create_task(batcher.infer([np.array([[1, 2, 3]], np.float32)]))
        bad = asyncio.create_task(batcher.infer([np.array([[-1, 0, 0]], np.float32)]))
        await until(lambda: batcher.queued_rows == 2)
        gate.open()
        assert (await first)["y"].tolist() == [[2, 2, 2]]
        assert (await good)["y"].tolist() == [[2, 4, 6]]
        with pytest.raises(Exception, match="negative input"):
            await bad
    finally:
        await batcher.stop()
    assert gate.batches == [1, 2, 1, 1]  # the shared pass failed, then each request ran alone


async def test_requests_of_different_shapes_never_share_a_forward_pass(until) -> None:
    """A variable dimension: the queue is A B A B A; the passes are [A A A] then [B B], and each caller
    still gets its own rows back."""

    release = threading.Event()
    shapes: list[tuple[int, ...]] = []

    def forward(inputs: list[np.ndarray]) -> list[np.ndarray]:
        shapes.append(inputs[0].shape)
        if len(shapes) == 1:
            assert release.wait(10)
        return [inputs[0].sum(axis=1)]

    batcher = Batcher(forward, limits(), Metrics())
    batcher.start()
    try:
        first = asyncio.create_task(batcher.infer([np.ones((1, 9), np.float32)]))
        await until(lambda: len(shapes) == 1)
        lengths = [2, 5, 2, 5, 2]
        queued = [
            asyncio.create_task(batcher.infer([np.full((1, n), i, np.float32)]))
            for i, n in enumerate(lengths)
        ]
        await until(lambda: batcher.queued_rows == len(lengths))
        release.set()
        results = await asyncio.gather(first, *queued)
    finally:
        await batcher.stop()
    assert shapes == [(1, 9), (3, 2), (2, 5)]
    assert [out[0].tolist() for out in results[1:]] == [[i * n] for i, n in enumerate(lengths)]
