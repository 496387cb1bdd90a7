"""The same archives served by TorchServe itself and by Liftoff after `import-torchserve`: the same answers,
byte for byte, over TorchServe's own inference API, raw and multipart, with request headers; and the Open
Inference Protocol beside it on Liftoff."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.servers import torchserve_start
from service.torchserve.archive import import_archive
from tests.service.live import LiveServer, free_port, start_server
from tests.service.torchserve.archives import grey_png

pytestmark = pytest.mark.slow

TORCHSERVE = Path(sys.executable).parent / "torchserve"


@pytest.fixture(scope="module")
def torchserve(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """TorchServe 0.12 on 127.0.0.1, both archives loaded, one worker each, batching as Liftoff does."""
    assert shutil.which("java"), (
        "TorchServe's frontend needs Java: make test installs it (scripts/test-prereqs.sh)"
    )
    work = tmp_path_factory.mktemp("torchserve")
    port = free_port()
    command = torchserve_start(
        TORCHSERVE,
        work / "config.properties",
        port,
        store,
        {name: {"batchSize": 4, "maxBatchDelay": 20} for name in ("brightness", "sentiment")},
        "2.0",
    )
    log = (work / "torchserve.log").open("wb")
    process = subprocess.Popen(
        command,
        cwd=work,
        # TMPDIR: TorchServe keeps its pid file in the temporary folder and refuses to start beside another.
        env={
            **os.environ,
            "LOG_LOCATION": str(work / "logs"),
            "METRICS_LOCATION": str(work / "logs"),
            "TMPDIR": str(work),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (work / "torchserve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "TorchServe did not load both models in 180 s"
            try:
                if (
                    all(
                        httpx.get(f"{base}/predictions/{name}", timeout=2).status_code != 404
                        for name in ("brightness", "sentiment")
                    )
                    and httpx.get(f"{base}/ping", timeout=2).json().get("status") == "Healthy"
                ):
                    break
            except (httpx.TransportError, ValueError):
                pass
            time.sleep(0.5)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def liftoff(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LiveServer]]:
    work = tmp_path_factory.mktemp("liftoff")
    servers: dict[str, LiveServer] = {}
    try:
        for each in import_archive(store, work / "models"):
            servers[each.name] = start_server(
                work,
                LIFTOFF_MODEL_PATH=str(each.directory),
                LIFTOFF_GRPC_PORT=str(free_port()),
                LIFTOFF_MAX_BATCH_SIZE="4",
                LIFTOFF_MAX_BATCH_WAIT_MS="20",
            )
        yield servers
    finally:
        for server in servers.values():
            server.stop()


REQUESTS = [
    ("brightness", {"content": grey_png(10), "headers": {"content-type": "image/png"}}),
    (
        "brightness",
        {"content": grey_png(128), "headers": {"content-type": "image/png", "x-want-scores": "yes"}},
    ),
    ("brightness", {"files": {"data": ("grey.png", grey_png(240), "image/png")}}),
    ("sentiment", {"content": b"good great but awful", "headers": {"content-type": "text/plain"}}),
    ("sentiment", {"content": b"bad poor fine", "headers": {"content-type": "application/octet-stream"}}),
    (
        "sentiment",
        {"content": b'{"text": "great great bad"}', "headers": {"content-type": "application/json"}},
    ),
]


@pytest.mark.parametrize(("name", "request_args"), REQUESTS)
def test_liftoff_answers_as_torchserve_does(
    torchserve: str, liftoff: dict[str, LiveServer], name: str, request_args: dict
) -> None:
    theirs = httpx.post(f"{torchserve}/predictions/{name}", timeout=30, **request_args)
    ours = httpx.post(f"{liftoff[name].base}/predictions/{name}", timeout=30, **request_args)
    assert theirs.status_code == ours.status_code == 200, (theirs.text, ours.text)
    assert ours.content == theirs.content
    assert json.loads(ours.content)  # a JSON answer, as the handler returned a dict


def test_the_version_path_and_ping_answer_as_torchserve_does(
    torchserve: str, liftoff: dict[str, LiveServer]
) -> None:
    body = {"content": b"good", "headers": {"content-type": "text/plain"}}
    for base in (torchserve, liftoff["sentiment"].base):
        assert httpx.post(f"{base}/predictions/sentiment/2.0", timeout=30, **body).json()["positive"] is True
        assert httpx.get(f"{base}/ping", timeout=10).json()["status"] == "Healthy"
    ours = liftoff["sentiment"].base
    assert httpx.post(f"{ours}/predictions/sentiment/9.9", timeout=30, **body).status_code == 404
    assert httpx.post(f"{ours}/predictions/other", timeout=30, **body).status_code == 404


def test_concurrent_requests_share_the_handlers_batches(liftoff: dict[str, LiveServer]) -> None:
    server = liftoff["sentiment"]
    before = server.metric("liftoff_batch_size_count")
    texts = [("good " * n + "bad " * (8 - n)).encode() for n in range(9)] * 4

    def post(text: bytes) -> float:
        answer = httpx.post(f"{server.base}/predictions/sentiment", content=text, timeout=30)
        assert answer.status_code == 200
        return float(answer.json()["score"])

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        scores = list(pool.map(post, texts))
    assert scores == [float(2 * n - 8) for n in range(9)] * 4  # +1 per good word, -1 per bad one
    batches = server.metric("liftoff_batch_size_count") - before
    assert batches < len(texts), f"{len(texts)} requests took {batches} forward passes: none were batched"


def test_the_open_inference_protocol_serves_the_imported_model_too(liftoff: dict[str, LiveServer]) -> None:
    server = liftoff["sentiment"]
    body = {
        "inputs": [
            {"name": "body", "datatype": "BYTES", "shape": [1], "data": ["great fine awful"]},
        ]
    }
    answer = httpx.post(f"{server.base}/v2/models/sentiment/infer", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    outputs = {out["name"]: out["data"][0] for out in answer.json()["outputs"]}
    assert json.loads(outputs["body"]) == {"positive": True, "score": 1.0}
    assert outputs["content_type"] == "application/json"
    b64 = base64.b64encode(grey_png(10)).decode()
    assert b64  # the brightness model takes its PNG through the same BYTES input
