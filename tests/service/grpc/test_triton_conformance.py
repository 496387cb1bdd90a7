"""What Triton's and KServe's own clients tripped on over gRPC, against a real `python -m service`:
ModelReady while the model loads, ModelConfig and ModelStatistics as REST answers them, the served
extensions, Triton's wording for the common refusals, and one server per gRPC port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from tests.service.grpc.slow_loading import loading_server
from tests.service.grpc.tritonclient_env import tritonclient_calls
from tests.service.live import REPO, free_port, spawn_server, start_server, wait_for_port

pytestmark = pytest.mark.slow


def refused_start(http_port: int, grpc_port: int, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m service` on ports it must refuse: it exits, with its code and stderr to check."""
    return subprocess.run(
        [sys.executable, "-m", "service"],
        cwd=REPO,
        env={
            **os.environ,
            "LIFTOFF_HOST": "127.0.0.1",
            "LIFTOFF_PORT": str(http_port),
            "LIFTOFF_GRPC_PORT": str(grpc_port),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextlib.contextmanager
def foreign_reuseport_listener(port: int) -> Iterator[None]:
    """A listener outside Liftoff on `port` that set SO_REUSEPORT, as grpc does."""
    with socket.socket() as foreign:
        foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        foreign.bind(("127.0.0.1", port))
        foreign.listen()
        yield


ROWS = [[float(v % 17) for v in range(64)], [0.0] * 64]


def test_tritonclient_sees_config_statistics_extensions_and_tritons_wording(tmp_path: Path) -> None:
    grpc_port = free_port()
    server = start_server(tmp_path, LIFTOFF_GRPC_PORT=str(grpc_port))
    try:
        answer = tritonclient_calls("extensions", f"127.0.0.1:{grpc_port}", "", ROWS)
        rest_config = httpx.get(server.base + "/v2/models/digits/config", timeout=10).json()
        rest_metadata = httpx.get(server.base + "/v2", timeout=10).json()
    finally:
        server.stop()
    assert answer["server_metadata"]["extensions"] == rest_metadata["extensions"]
    assert {"binary_tensor_data", "model_configuration", "statistics"} <= set(rest_metadata["extensions"])
    config = answer["config"]["config"]
    assert config["name"] == "digits" and config["max_batch_size"] == rest_config["max_batch_size"]
    assert config["input"] == [{"name": "pixels", "data_type": "TYPE_FP32", "dims": ["64"]}]
    assert [output["name"] for output in config["output"]] == [out["name"] for out in rest_config["output"]]
    assert config["dynamic_batching"] == {
        "max_queue_delay_microseconds": str(rest_config["dynamic_batching"]["max_queue_delay_microseconds"])
    }
    stats = answer["statistics"]["model_stats"]
    assert len(stats) == 1 and stats[0]["name"] == "digits"
    assert int(stats[0]["inference_count"]) >= len(ROWS)
    assert int(stats[0]["inference_stats"]["success"]["count"]) >= 1
    for refusal in (answer["unknown_model"], answer["unknown_model_infer"]):
        assert refusal["status"] == "StatusCode.NOT_FOUND"
        assert refusal["message"].startswith("Request for unknown model: 'nope' is not found")
    assert answer["bad_version"]["status"] == "StatusCode.INVALID_ARGUMENT"
    assert answer["bad_version"]["message"].startswith(
        "failed to get model version from specified version string 'wrong_specification'"
    )
    contents = answer["contents_and_raw"]
    assert contents["status"] == "StatusCode.INVALID_ARGUMENT"
    assert (
        "contents field must not be specified when using raw_input_contents for 'pixels' for model 'digits'"
        in contents["message"]
    )


def test_model_ready_is_false_while_the_model_loads_then_true(tmp_path: Path) -> None:
    with loading_server(tmp_path) as (grpc_port, finish_loading):
        loading = tritonclient_calls("model_ready", f"127.0.0.1:{grpc_port}", "", ["slow"])
        finish_loading()
        loaded = tritonclient_calls("model_ready", f"127.0.0.1:{grpc_port}", "", ["slow"])
    assert loading == {"model_ready": False, "server_ready": False}
    assert loaded == {"model_ready": True, "server_ready": True}


def test_a_second_server_on_a_taken_grpc_port_stops_with_a_clear_error(tmp_path: Path) -> None:
    grpc_port = free_port()
    first = start_server(tmp_path, LIFTOFF_GRPC_PORT=str(grpc_port))
    try:
        second = refused_start(free_port(), grpc_port)
        # The first server still answers every new channel on its port.
        answers = []
        for _ in range(10):
            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                ready = channel.unary_unary("/inference.GRPCInferenceService/ServerReady")
                answers.append(ready(b"", timeout=10))
    finally:
        first.stop()
    assert second.returncode == 2
    assert f"LIFTOFF_GRPC_PORT={grpc_port}" in second.stderr
    assert "another process already uses" in second.stderr
    assert answers == [b"\x08\x01"] * 10  # ServerReadyResponse(ready=true)


def test_a_foreign_reuseport_listener_is_refused_too(tmp_path: Path) -> None:
    """A listener outside Liftoff that set SO_REUSEPORT, as grpc does: the kernel would let ours join it."""
    grpc_port = free_port()
    with foreign_reuseport_listener(grpc_port):
        done = refused_start(free_port(), grpc_port)
    assert done.returncode == 2 and "another process already uses" in done.stderr


def test_the_grpc_port_follows_the_http_port_and_the_start_up_line_names_both(tmp_path: Path) -> None:
    http_port = free_port()
    server = spawn_server(tmp_path, default_grpc_port=True, LIFTOFF_PORT=str(http_port))
    try:
        wait_for_port(http_port + 1, server.process, server.log, timeout_s=120)
    finally:
        server.stop()
    assert (
        f"serving HTTP on 127.0.0.1:{http_port} (LIFTOFF_PORT) and gRPC on 127.0.0.1:{http_port + 1} "
        "(LIFTOFF_GRPC_PORT)" in server.log.read_text()
    )


def test_workers_refuse_an_http_port_a_foreign_reuseport_listener_holds() -> None:
    """The same rule for the HTTP port, which forked workers bind with SO_REUSEPORT."""
    http_port = free_port()
    with foreign_reuseport_listener(http_port):
        done = refused_start(http_port, free_port(), LIFTOFF_WORKERS="2")
    assert done.returncode == 2 and f"cannot listen on LIFTOFF_PORT={http_port}" in done.stderr
