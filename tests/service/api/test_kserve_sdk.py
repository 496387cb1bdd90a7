"""KServe's own Python SDK (its own environment: kserve_env.py) against a real `python -m service`: REST v1
and v2, gRPC, and gRPC model readiness while the model loads, answered as KServe's server answers them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.service.api.kserve_env import kserve_calls
from tests.service.grpc.slow_loading import loading_server
from tests.service.live import free_port, start_server

pytestmark = pytest.mark.slow
ROWS = [[float(v % 17) for v in range(64)], [0.0] * 64, [16.0] * 64]


def test_kserve_sdk_rest_v1_and_v2_and_grpc_serve_digits(tmp_path: Path) -> None:
    grpc_port = free_port()
    server = start_server(tmp_path, LIFTOFF_GRPC_PORT=str(grpc_port))
    try:
        rest = kserve_calls("rest", server.base, "", "digits", ROWS)
        over_grpc = kserve_calls("grpc", "", f"127.0.0.1:{grpc_port}", "digits", ROWS)
        plain = httpx.post(server.base + "/predict", json={"instances": ROWS}, timeout=30).json()
    finally:
        server.stop()
    expected = [prediction["label"] for prediction in plain["predictions"]]
    assert rest["v1_live"] is True and rest["v1_model_ready"] is True
    assert rest["v1_instances_labels"] == rest["v1_inputs_labels"] == expected
    assert rest["v2_live"] is True and rest["v2_model_ready"] is True
    assert rest["v2_labels"] == expected
    assert over_grpc == {"live": True, "ready": True, "model_ready": True, "labels": expected}


def test_kserve_sdk_grpc_model_ready_is_false_while_loading(tmp_path: Path) -> None:
    with loading_server(tmp_path) as (grpc_port, finish_loading):
        loading = kserve_calls("grpc_ready", "", f"127.0.0.1:{grpc_port}", "slow", [])
        finish_loading()
        loaded = kserve_calls("grpc_ready", "", f"127.0.0.1:{grpc_port}", "slow", [])
    assert loading == {"model_ready": False}
    assert loaded == {"model_ready": True}
