"""Clients that go away, stall or send too much, against the app in-process. The same against
a real server on a socket: test_connection_guard.py."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from service.api import oip, predict
from service.settings import Settings

pytestmark = pytest.mark.anyio


def http_scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


async def test_a_client_that_leaves_mid_body_is_a_499_at_info_not_a_500_error(
    serve, linear_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The body's first half arrives, then the client is gone: nothing to answer, and not the server's fault."""
    async with serve(Settings(model_path=linear_model)) as client:
        app = client._transport.app  # type: ignore[attr-defined]
        messages = iter(
            [
                {"type": "http.request", "body": b'{"instances": [[1, 2', "more_body": True},
                {"type": "http.disconnect"},
            ]
        )
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        headers = [(b"content-type", b"application/json"), (b"content-length", b"400")]
        with caplog.at_level(logging.INFO):
            await app(http_scope("POST", "/predict", headers), receive, send)
        metrics = (await client.get("/metrics")).text
    assert sent == []
    assert 'liftoff_requests_total{method="POST",route="/predict",status="499"} 1.0' in metrics
    assert 'status="500"' not in metrics
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert "closed the connection" in caplog.text


async def test_a_body_still_arriving_does_not_hold_other_requests_batch(serve, linear_model: Path) -> None:
    """A batch waits (up to max_batch_wait, 10 s here) only for requests being decoded, not for a body a
    slow client is still sending: before, every batch waited the full wait while any body was arriving."""
    settings = Settings(model_path=linear_model, max_batch_size=4, max_batch_wait_ms=10_000)
    async with serve(settings) as client:
        half_sent, finish = asyncio.Event(), asyncio.Event()

        async def slow_body() -> AsyncIterator[bytes]:
            yield b'{"instances": [[1, 0,'
            half_sent.set()
            await finish.wait()
            yield b" 0]]}"

        slow = asyncio.create_task(
            client.post("/predict", content=slow_body(), headers={"content-type": "application/json"})
        )
        await asyncio.wait_for(half_sent.wait(), 10)
        await asyncio.sleep(0.05)  # let the handler take the first half and wait for the rest
        quick = await asyncio.wait_for(client.post("/predict", json={"instances": [[0, 1, 0]]}), 5)
        assert quick.status_code == 200 and quick.json()["predictions"] == [[2.5, 4.0]]
        finish.set()
        answered = await asyncio.wait_for(slow, 15)
    assert answered.status_code == 200 and answered.json()["predictions"] == [[1.5, 3.0]]


@pytest.mark.parametrize("route", ["/predict", "/v2/models/linear/infer"])
async def test_a_large_body_is_decoded_off_the_event_loop_and_a_small_one_on_it(
    serve, linear_model: Path, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """Large bodies cost milliseconds to parse and check, which on the loop stall every other client (issue
    20: 160-360 ms for 8 MB); the thread that parses each request is recorded here."""
    module = predict if route == "/predict" else oip
    threads: list[int] = []
    real = module.parse_json

    def recording(raw: bytes, model: Any) -> Any:
        threads.append(threading.get_ident())
        return real(raw, model)

    monkeypatch.setattr(module, "parse_json", recording)
    if route == "/predict":
        small = b'{"instances": [[1, 2, 3]]}'
    else:
        small = b'{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}'
    large = small[:-1] + b" " * 100_000 + b"}"  # the same request, padded past the inline size
    async with serve(Settings(model_path=linear_model, max_body_bytes=200_000)) as client:
        for content in (small, large):
            response = await client.post(route, content=content, headers={"content-type": "application/json"})
            assert response.status_code == 200, response.text
    loop_thread = threading.get_ident()
    assert threads[0] == loop_thread
    assert threads[1] != loop_thread


@pytest.mark.parametrize(
    ("route", "body", "words"),
    [
        # Under the model's comma count (32 rows of 3 values, plus room: 4,192), which refuses more at once.
        ("/predict", {"instances": [[0] * 4_000]}, "instances of shape [4000]"),
        (
            "/v2/models/linear/infer",
            {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [0] * 4_000}]},
            "has 4000 values, but shape [1, 3] needs 3",
        ),
    ],
)
async def test_data_of_the_wrong_size_is_refused_before_numpy_converts_it(
    serve, linear_model: Path, monkeypatch: pytest.MonkeyPatch, route: str, body: Any, words: str
) -> None:
    """Turning a long JSON list into an array was the costliest step of a hostile body (6 ms for 58,000
    zeros, where parsing took 2.5); a count that cannot fit is refused first."""
    from service.api import tensors

    converted: list[int] = []
    real = tensors.to_array

    def recording(data: Any, spec: Any, where: str) -> Any:
        converted.append(len(data))
        return real(data, spec, where)

    monkeypatch.setattr(tensors, "to_array", recording)
    monkeypatch.setattr(oip, "to_array", recording)
    async with serve(Settings(model_path=linear_model, max_body_bytes=200_000)) as client:
        response = await client.post(route, json=body)
    assert response.status_code == 400 and words in response.json()["error"], response.text
    assert converted == []
