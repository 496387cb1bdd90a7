"""The requests the lab sends: a real digit for the default `digits` model, on either inference route."""

from __future__ import annotations

import json

from lab.loadtest.http import PreparedRequest

# An 8x8 handwritten zero from scikit-learn's digits data set (pixel values 0..16), flattened to 64 values.
DIGIT_ZERO: tuple[float, ...] = (
    0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0, 8, 8, 0,
    0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0,
)  # fmt: skip

ROUTES = ("predict", "v2")


def inference_request(
    url: str, route: str = "predict", rows: int = 1, model: str = "digits"
) -> PreparedRequest:
    """`POST /predict` ({"instances": ...}) or `POST /v2/models/<model>/infer` (Open Inference Protocol)."""
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
    return PreparedRequest.build(url, "POST", path, json.dumps(body).encode(), "application/json")
