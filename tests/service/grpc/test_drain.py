"""SIGTERM against a real `python -m service` with a gRPC call in flight: the call finishes with its answer,
a call that arrives during the drain meets UNAVAILABLE (the listener takes no new call: the client retries
elsewhere), and the process exits by itself."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from service.grpc.servicer import pb, pb_grpc
from tests.service.live import free_port, start_server
from tests.service.test_sigterm_drain import slow_model

pytestmark = pytest.mark.slow
ROUNDS = 400.0  # the slow model's rounds of matrix work: 0.2 to 2 s on one core


def _infer(value: float) -> object:
    request = pb.ModelInferRequest(model_name="slow")
    request.inputs.add(name="x", datatype="FP32", shape=[1, 1])
    request.raw_input_contents.append(np.asarray([[value]], dtype="<f4").tobytes())
    return request


def test_sigterm_lets_an_in_flight_grpc_call_finish_then_exits(tmp_path: Path) -> None:
    grpc_port = free_port()
    server = start_server(
        tmp_path,
        LIFTOFF_MODEL_PATH=str(slow_model(tmp_path)),
        LIFTOFF_GRPC_PORT=str(grpc_port),
        LIFTOFF_MAX_BATCH_SIZE="1",
        LIFTOFF_DRAIN_TIMEOUT_S="30",
    )
    answers: list[object] = []
    try:
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            # The same call queued behind itself: the second keeps the server busy after the first ends.
            calls = [threading.Thread(target=lambda: answers.append(_call(stub, ROUNDS))) for _ in range(2)]
            for call in calls:
                call.start()
            deadline = time.monotonic() + 30
            while server.metric("liftoff_requests_in_flight ") < 2 + 1:  # +1: the scrape itself
                assert time.monotonic() < deadline, "the gRPC calls never got in flight"
                time.sleep(0.02)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            late = _call(stub, 1.0)
            for call in calls:
                call.join(timeout=60)
        exit_code = server.process.wait(timeout=60)
    finally:
        server.stop()
    values = [np.frombuffer(a.raw_output_contents[0], dtype="<f4").tolist() for a in answers]  # type: ignore[attr-defined]
    assert values == [[ROUNDS], [ROUNDS]], server.log.read_text()
    assert isinstance(late, grpc.RpcError) and late.code() is grpc.StatusCode.UNAVAILABLE, late
    # uvicorn re-raises the SIGTERM it caught once it has shut down, as tests/service/test_sigterm_drain.py says
    assert exit_code in (0, -signal.SIGTERM), server.log.read_text()


def _call(stub: object, value: float) -> object:
    try:
        return stub.ModelInfer(_infer(value), timeout=60)  # type: ignore[attr-defined]
    except grpc.RpcError as error:
        return error
