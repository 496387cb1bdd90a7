"""Dynamic batching: requests wait briefly in one queue and share a forward pass.

One asyncio task collects queued requests into a batch (up to `max_batch_size` rows) and hands it to one
dedicated inference thread, so the event loop never waits on a forward pass; a pass too short to be worth
the hand-off (under `INLINE_FORWARD_S`, judged by the last pass) runs on the loop instead. While a forward
pass runs, new requests queue up and form the next batch on their own. The extra wait for a batch to fill
(`max_batch_wait`) is only spent while another request is on its way in: a request arriving at an idle
server runs at once.

The queue is bounded in rows: past `queue_limit` a request is refused at once (the caller answers 503 with
Retry-After) instead of adding latency for everyone. A model with a variable dimension (text of any length)
gets batches of requests of one shape each: the oldest queued request picks the shape, and requests of other
shapes keep their place for the batches after. Each request carries a deadline; one that expires
while queued is dropped before it costs a forward pass.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from service.metrics import Metrics

log = logging.getLogger(__name__)

Outputs = list[np.ndarray] | dict[str, np.ndarray]
"""A forward pass's outputs, rows first: in model.json's order, or by name (a handler's predict)."""
Forward = Callable[[list[np.ndarray]], Outputs]

INLINE_FORWARD_S = 0.0002
"""A batch whose forward pass should take less than this runs on the event loop, not the inference thread.
Handing a pass to the thread and back (waking each thread, each taking its turn at the GIL) costs tens of
microseconds of the loop's time, more than a small model's whole pass, so such passes run inline
(docs/benchmarks.md measures the difference). The estimate is the last pass's time per row times the batch's
rows; it errs high for larger batches (a pass's fixed cost is spread over more rows), and the first pass,
with nothing to judge by, runs on the thread. A model whose passes are slower than this never blocks the
loop; one that turns slow blocks it for one pass at most."""


class Rejected(Exception):
    """The request was not run; `reason` is one of the `liftoff_rejected_total` reasons."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(eq=False)
class _Pending:
    inputs: list[np.ndarray]
    rows: int
    deadline: float
    future: asyncio.Future[Outputs] = field(repr=False)
    shapes: tuple[tuple[int, ...], ...]
    """Each input's shape after the rows: only requests alike in it share a forward pass."""


@dataclass(frozen=True)
class BatchLimits:
    max_batch_size: int
    max_batch_wait_s: float
    queue_limit: int
    request_timeout_s: float


class Batcher:
    def __init__(self, forward: Forward, limits: BatchLimits, metrics: Metrics) -> None:
        self._forward = forward
        self._limits = limits
        self._metrics = metrics
        self._queue: collections.deque[_Pending] = collections.deque()
        self._queued_rows = 0
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="liftoff-inference")
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._incoming = 0
        self._running: list[_Pending] = []
        self._seconds_per_row: float | None = None
        """The last forward pass's time over its rows: None until a pass has run."""

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    @contextlib.contextmanager
    def incoming(self) -> Iterator[None]:
        """Wrap the decoding of a request that will call `infer`, once its body has arrived: while any
        request is being decoded, a batch that is not full waits (up to max_batch_wait) for it. Not the
        reading of the body: a slow client would hold every batch for the full wait."""
        self._incoming += 1
        try:
            yield
        finally:
            self._incoming -= 1
            self._arrived.set()  # one fewer to wait for: let a waiting batch re-check

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="liftoff-batcher")

    async def stop(self) -> None:
        """Stop taking work; whatever is still queued is refused as `draining`."""
        self._stopped = True
        running = self._running  # cancelling the task below clears it
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for pending in [*running, *self._queue]:
            if not pending.future.done():
                self._fail(pending, self._rejection("draining", "the server is shutting down"))
        self._queue.clear()
        self._queued_rows = 0
        self._set_depth()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def infer(self, inputs: Sequence[np.ndarray]) -> Outputs:
        """Queue one request's rows and wait for its own slice of the batch's outputs."""
        rows = int(inputs[0].shape[0])
        if self._stopped:
            raise self._rejection("draining", "the server is shutting down")
        if self._queued_rows + rows > self._limits.queue_limit:
            raise self._rejection(
                "queue_full",
                f"the server is at capacity ({self._queued_rows} rows queued, limit "
                f"{self._limits.queue_limit}); retry shortly",
            )
        loop = asyncio.get_running_loop()
        pending = _Pending(
            list(inputs),
            rows,
            loop.time() + self._limits.request_timeout_s,
            loop.create_future(),
            tuple(array.shape[1:] for array in inputs),
        )
        self._queue.append(pending)
        self._queued_rows += rows
        self._set_depth()
        self._arrived.set()
        # A timer on the loop rather than asyncio.timeout_at: the same deadline for a third of the cost a
        # request, as there is no task cancellation to set up and undo.
        expiry = loop.call_at(pending.deadline, self._expire, pending)
        try:
            return await pending.future
        finally:
            expiry.cancel()

    def _expire(self, pending: _Pending) -> None:
        if not pending.future.done():
            timeout = self._limits.request_timeout_s
            message = f"no answer within the request timeout of {timeout:g} s"
            self._fail(pending, self._rejection("deadline", message))

    async def _run(self) -> None:
        while True:
            batch = await self._collect()
            if batch:
                await self._run_batch(batch)

    async def _collect(self) -> list[_Pending]:
        while not self._queue:
            self._arrived.clear()
            await self._arrived.wait()
        batch, rows = self._take([], 0)
        limits = self._limits
        # Wait for company only while some request is on its way in (being read or parsed): a lone
        # request on an idle server runs at once, and a batch stops waiting once nobody else is coming.
        if rows < limits.max_batch_size and limits.max_batch_wait_s > 0 and self._incoming:
            loop = asyncio.get_running_loop()
            fill_by = loop.time() + limits.max_batch_wait_s
            while rows < limits.max_batch_size and self._incoming and (left := fill_by - loop.time()) > 0:
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await self._arrived.wait()
                batch, rows = self._take(batch, rows)
                if self._queue:  # the next request does not fit: the batch is as full as it gets
                    break
        self._set_depth()
        return batch

    def _take(self, batch: list[_Pending], rows: int) -> tuple[list[_Pending], int]:
        """Move queued requests into the batch while they fit; drop those already given up on."""
        now = asyncio.get_running_loop().time()
        shapes = batch[0].shapes if batch else None
        other_shapes: list[_Pending] = []
        queue = self._queue
        while queue and rows + queue[0].rows <= self._limits.max_batch_size:
            pending = queue.popleft()
            if pending.future.done():  # its caller timed out or went away
                self._queued_rows -= pending.rows
                continue
            if shapes is not None and pending.shapes != shapes:
                other_shapes.append(pending)  # stays queued, in order, for a later batch
                continue
            self._queued_rows -= pending.rows
            if pending.deadline <= now:
                self._fail(pending, self._rejection("deadline", "the request timed out while queued"))
                continue
            batch.append(pending)
            rows += pending.rows
            shapes = pending.shapes
        queue.extendleft(reversed(other_shapes))
        return batch, rows

    async def _run_batch(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        self._running = batch
        try:
            if self._runs_inline(batch):
                results = self._forward_isolating_failures(batch)
            else:
                results = await loop.run_in_executor(self._executor, self._forward_isolating_failures, batch)
        finally:
            self._running = []
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                self._fail(pending, result)
            elif not pending.future.done():
                pending.future.set_result(result)

    def _runs_inline(self, batch: list[_Pending]) -> bool:
        per_row = self._seconds_per_row
        return per_row is not None and per_row * sum(p.rows for p in batch) < INLINE_FORWARD_S

    def _forward_isolating_failures(self, batch: list[_Pending]) -> list[Outputs | Exception]:
        """In the inference thread (on the loop for a pass under INLINE_FORWARD_S). When a shared forward
        pass fails, run its requests one by one, so only the request the model cannot take fails, not
        everyone who shared its batch."""
        try:
            return list(self._forward_batch(batch))
        except Exception as exc:
            if len(batch) == 1:
                log.exception("forward pass failed")
                return [exc]
            log.warning(
                "a forward pass of %d requests failed (%s); retrying them one by one", len(batch), exc
            )
        results: list[Outputs | Exception] = []
        for pending in batch:
            try:
                results.extend(self._forward_batch([pending]))
            except Exception as exc:
                log.exception("forward pass failed")
                results.append(exc)
        return results

    def _forward_batch(self, batch: list[_Pending]) -> list[Outputs]:
        """Stack the rows, one forward pass, split the outputs per request."""
        if len(batch) == 1:
            stacked = batch[0].inputs
        else:
            stacked = [np.concatenate(parts) for parts in zip(*(p.inputs for p in batch), strict=True)]
        rows = int(stacked[0].shape[0])
        started = time.perf_counter()
        outputs = self._forward(stacked)
        elapsed = time.perf_counter() - started
        self._seconds_per_row = elapsed / rows
        self._metrics.inference_seconds.observe(elapsed)
        self._metrics.batch_size.observe(rows)
        if len(batch) == 1:
            return [outputs]
        results: list[Outputs] = []
        offset = 0
        for pending in batch:
            end = offset + pending.rows
            if isinstance(outputs, dict):
                results.append({name: out[offset:end] for name, out in outputs.items()})
            else:
                results.append([out[offset:end] for out in outputs])
            offset = end
        return results

    def _rejection(self, reason: str, message: str) -> Rejected:
        self._metrics.rejected.labels(reason=reason).inc()
        return Rejected(reason, message)

    def _fail(self, pending: _Pending, exc: BaseException) -> None:
        if not pending.future.done():
            pending.future.set_exception(exc)

    def _set_depth(self) -> None:
        self._metrics.queue_depth.set(self._queued_rows)
