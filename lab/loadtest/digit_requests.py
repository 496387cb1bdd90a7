"""The requests the lab sends: a real digit for the default `digits` model, on either inference route."""

from __future__ import annotations

import json
import ssl

from lab.loadtest.http import PreparedRequest
from service.model.examples import DIGIT_ZERO

ROUTES = ("predict", "v2")


def inference_request(
    url: str,
    route: str = "predict",
    rows: int = 1,
    model: str = "digits",
    api_key: str | None = None,
    tls: ssl.SSLContext | None = None,
) -> PreparedRequest:
    """`POST /predict` ({"instances": ...}) or `POST /v2/models/<model>/infer` (Open Inference Protocol),
    with `Authorization: Bearer <api_key>` when a key is given; `tls` verifies an https:// server."""
    if route not in ROUTES:
        raise ValueError(f"route: {route!r} is unknown; allowed: {', '.join(ROUTES)}")
    if rows < 1:
        raise ValueError(f"rows: {rows} must be at least 1")
    instances = [list(DIGIT_ZERO)] * rows
    if route == "predict":
        path = "/predict"
        body: dict[str, object] = {"instances": instances}
    else:
        path = f"/v2/models/{model}/infer"
        flat = [value for row in instances for value in row]
        body = {"inputs": [{"name": "pixels", "shape": [rows, 64], "datatype": "FP32", "data": flat}]}
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return PreparedRequest.build(
        url, "POST", path, json.dumps(body).encode(), "application/json", headers, tls
    )
