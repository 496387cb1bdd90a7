"""Compressed request bodies: gzip and deflate decoded for every route, the body limit held on the decoded
size (a small body that inflates past it is a 413, read no further), any other encoding a 415 naming the two.
tritonclient's own request compression, binary tensors included, against a real server."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton

from service.settings import Settings
from tests.service.live import start_server

pytestmark = pytest.mark.anyio
ROW = [float(v % 17) for v in range(64)]


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),
        ("identity, gzip", gzip.compress),
    ],
)
async def test_a_compressed_json_body_is_answered_as_the_plain_one(serve, encoding: str, compress) -> None:
    body = b'{"instances": [' + b"[" + ",".join(map(str, ROW)).encode() + b"]]}"
    async with serve(Settings()) as client:
        plain = await client.post("/predict", content=body, headers={"content-type": "application/json"})
        packed = await client.post(
            "/predict",
            content=compress(body),
            headers={"content-type": "application/json", "content-encoding": encoding},
        )
    assert plain.status_code == 200, plain.text
    assert packed.status_code == 200, packed.text
    assert packed.json() == plain.json()


async def test_an_unsupported_encoding_is_415_naming_gzip_and_deflate(serve) -> None:
    async with serve(Settings()) as client:
        response = await client.post(
            "/predict", json={"instances": [ROW]}, headers={"content-encoding": "br"}
        )
        stacked = await client.post(
            "/predict",
            content=gzip.compress(gzip.compress(b'{"instances": []}')),
            headers={"content-type": "application/json", "content-encoding": "gzip, gzip"},
        )
    assert response.status_code == 415
    assert "'br'" in response.json()["error"] and "gzip, deflate" in response.json()["error"]
    assert response.headers["accept-encoding"] == "gzip, deflate"
    assert stacked.status_code == 415


async def test_a_body_that_inflates_past_the_limit_is_413_without_inflating_it(serve) -> None:
    limit = 64 * 1024
    bomb = gzip.compress(b"[" * (50 * 1024 * 1024))  # 50 MB of brackets in about 50 KB
    assert len(bomb) < limit
    async with serve(Settings(max_body_bytes=limit)) as client:
        response = await client.post(
            "/predict",
            content=bomb,
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    assert response.status_code == 413
    assert "decompressed" in response.json()["error"] and str(limit) in response.json()["error"]


async def test_a_body_that_is_not_gzip_is_400(serve) -> None:
    async with serve(Settings()) as client:
        garbage = await client.post(
            "/predict",
            content=b'{"instances": []}',
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
        cut = await client.post(
            "/predict",
            content=gzip.compress(b'{"instances": [[' + b"0," * 63 + b"0]]}")[:-12],
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    assert garbage.status_code == 400 and "not valid gzip" in garbage.json()["error"]
    assert cut.status_code == 400 and "ends before" in cut.json()["error"]


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_tritonclient_request_compression_with_binary_tensors(tmp_path: Path, algorithm: str) -> None:
    """Triton's client compresses the whole request and keeps Inference-Header-Content-Length at the JSON's
    size before compression: the header counts in the decoded body."""
    server = start_server(tmp_path)
    rows = np.array([ROW, [16.0 - v for v in ROW]], dtype=np.float32)
    try:
        client = triton.InferenceServerClient(f"127.0.0.1:{server.port}")
        pixels = triton.InferInput("pixels", list(rows.shape), "FP32")
        pixels.set_data_from_numpy(rows, binary_data=True)
        wanted = [triton.InferRequestedOutput("label", binary_data=True)]
        plain = client.infer("digits", [pixels], outputs=wanted).as_numpy("label")
        packed = client.infer(
            "digits", [pixels], outputs=wanted, request_compression_algorithm=algorithm
        ).as_numpy("label")
        client.close()
    finally:
        server.stop()
    assert plain is not None and packed is not None
    assert plain.shape == (2,)
    assert packed.tolist() == plain.tolist()
