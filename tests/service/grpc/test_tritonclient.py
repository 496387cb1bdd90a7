"""tritonclient.grpc, unchanged (its own environment: tritonclient_env.py), against a real `python -m service`
on 127.0.0.1 with an API key: health, metadata, and digits rows raw and typed, answered as over REST."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
from sklearn.datasets import load_digits

from tests.service.grpc.tritonclient_env import tritonclient_calls
from tests.service.live import free_port, start_server

pytestmark = pytest.mark.slow
KEY = "k-tritonclient"


def test_tritonclient_grpc_serves_digits_raw_and_typed_with_a_key(tmp_path: Path) -> None:
    digits = load_digits()
    chosen = np.random.default_rng(1).permutation(len(digits.data))[:16]
    rows = digits.data[chosen].tolist()
    grpc_port = free_port()
    server = start_server(tmp_path, LIFTOFF_GRPC_PORT=str(grpc_port), LIFTOFF_API_KEYS=KEY)
    try:
        answer = tritonclient_calls("digits", f"127.0.0.1:{grpc_port}", KEY, rows)
        rest = httpx.post(
            server.base + "/predict",
            json={"instances": rows},
            headers={"authorization": f"Bearer {KEY}"},
            timeout=30,
        ).json()
    finally:
        server.stop()
    rest_labels = [prediction["label"] for prediction in rest["predictions"]]
    assert answer["live"] and answer["ready"] and answer["model_ready"]
    assert answer["metadata_inputs"] == [{"name": "pixels", "datatype": "FP32", "shape": ["-1", "64"]}]
    assert answer["raw_labels"] == answer["typed_labels"] == rest_labels
    assert sum(a == b for a, b in zip(rest_labels, digits.target[chosen], strict=True)) >= 14
    assert all(abs(total - 1) < 1e-4 for total in answer["raw_probability_sums"])
    assert answer["wrong_shape"]["status"] == "StatusCode.INVALID_ARGUMENT"
    assert "pixels" in answer["wrong_shape"]["message"]
    assert answer["without_key"] == "StatusCode.UNAUTHENTICATED"
