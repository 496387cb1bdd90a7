"""Clients that go away, stall or send too much, against the app in-process (issue 20). The same against
a real server on a socket: test_connection_guard.py."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

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
