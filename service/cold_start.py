"""`python -m service.cold_start`: the answer for a request whose cold start outlived its hold.

Scaling to zero, the KEDA HTTP add-on holds a request while the first pod starts; past
liftoff:coldStartTimeoutSeconds it sends the request to its failover Service, which runs this (the same
image as the server, on the system pool, no model loaded). Every request gets 503 with Retry-After and a
JSON message, as the server itself answers when it sheds load, so a client backs off and comes back
instead of meeting the add-on's bare 504. `GET /healthz` answers 200 for the pod's probes.
"""

from __future__ import annotations

import json
import os
from typing import Any

import uvicorn

HEALTH_PATH = "/healthz"


def retry_after_s() -> int:
    return max(1, int(os.environ.get("LIFTOFF_RETRY_AFTER_S", "10")))


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == HEALTH_PATH and scope["method"] == "GET":
        status, headers, body = 200, [], b'{"status":"ok"}'
    else:
        wait = retry_after_s()
        status = 503
        headers = [(b"retry-after", str(wait).encode())]
        message = f"the model is still starting after a cold start from zero; retry in {wait} s"
        body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    uvicorn.run(
        app,
        host=os.environ.get("LIFTOFF_HOST", "0.0.0.0"),  # noqa: S104 (a pod's port, behind its NetworkPolicy)
        port=int(os.environ.get("LIFTOFF_PORT", "8080")),
        lifespan="off",
        # Bounds for a hostile client: it answers at once, so neither many connections nor slow ones pile up.
        limit_concurrency=1024,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=32 * 1024,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
