"""The fetch against real object stores on 127.0.0.1: SeaweedFS (S3), Azurite (Azure Blob), fake-gcs-server
(GCS), and a plain HTTP server that can stall or fail. Never a mock of the client library."""

from __future__ import annotations

import base64
import filecmp
import logging
import os
from pathlib import Path

import obstore
import pytest

from service.weights import FetchOptions, WeightsFetchError, fetch_weights
from service.weights.fetch import PARTIAL_SUFFIX, VERIFIED_FILE
from service.weights.manifest import MANIFEST_FILE, build_manifest
from service.weights.metrics import FetchRecord
from service.weights.source import open_store, parse_uri
from tests.service.weights.conftest import NetModel, gcs_upload, push
from tests.service.weights.object_stores import Azurite, GcsEmulator, SeaweedS3
from tests.service.weights.plain_http import PlainHttp

FAST = FetchOptions(read_timeout_s=2.0, attempts=2, backoff_s=0.1, progress_interval_s=0.2, chunk_bytes=4096)
"""Small ranged reads, so even these small files take several reads in parallel; short timeouts."""


def same_files(fetched: Path, source: Path) -> None:
    manifest = build_manifest(source)
    for entry in manifest.files:
        assert filecmp.cmp(fetched / entry.path, source / entry.path, shallow=False), entry.path
    leftovers = [p.name for p in fetched.rglob("*" + PARTIAL_SUFFIX)]
    assert leftovers == []


def test_s3_multi_file_fetch_lands_every_file_verified(
    seaweed: SeaweedS3, net_model: NetModel, tmp_path: Path, store_env: pytest.MonkeyPatch
) -> None:
    push(seaweed.env(seaweed.admin), net_model.weights, seaweed.uri("net-s3"))
    for name, value in seaweed.env(seaweed.reader).items():
        store_env.setenv(name, value)
    record = FetchRecord()
    report = fetch_weights(parse_uri(seaweed.uri("net-s3")), tmp_path / "out", FAST, record)
    assert report.files == report.fetched_files == 3
    assert record.bytes_fetched == report.total_bytes == build_manifest(net_model.weights).total_bytes
    same_files(tmp_path / "out", net_model.weights)


def test_azure_multi_file_fetch_through_the_connection_string(
    azurite: Azurite, net_model: NetModel, tmp_path: Path, store_env: pytest.MonkeyPatch
) -> None:
    push(azurite.env(), net_model.weights, azurite.uri("net-az"))
    store_env.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string())
    report = fetch_weights(parse_uri(azurite.uri("net-az")), tmp_path / "out", FAST, FetchRecord())
    assert report.fetched_files == 3
    same_files(tmp_path / "out", net_model.weights)


def test_gcs_multi_file_fetch_through_storage_emulator_host(
    gcs: GcsEmulator, net_model: NetModel, tmp_path: Path, store_env: pytest.MonkeyPatch
) -> None:
    gcs_upload(gcs, net_model.weights, "net-gs")
    store_env.setenv("STORAGE_EMULATOR_HOST", gcs.env()["STORAGE_EMULATOR_HOST"])
    report = fetch_weights(parse_uri(gcs.uri("net-gs")), tmp_path / "out", FAST, FetchRecord())
    assert report.fetched_files == 3
    same_files(tmp_path / "out", net_model.weights)


def test_one_changed_byte_is_refused_naming_the_object(
    seaweed: SeaweedS3, net_model: NetModel, tmp_path: Path, store_env: pytest.MonkeyPatch
) -> None:
    uri = seaweed.uri("net-corrupt")
    push(seaweed.env(seaweed.admin), net_model.weights, uri)
    manifest = build_manifest(net_model.weights, content_addressed=True)
    victim = next(e for e in manifest.files if e.path.endswith("00002-of-00002.safetensors"))
    data = bytearray((net_model.weights / victim.path).read_bytes())
    data[len(data) // 2] ^= 0x01
    for name, value in seaweed.env(seaweed.admin).items():
        store_env.setenv(name, value)
    obstore.put(open_store(parse_uri(uri), 30), victim.key, bytes(data))
    record = FetchRecord()
    with pytest.raises(WeightsFetchError) as refused:
        fetch_weights(parse_uri(uri), tmp_path / "out", FAST, record)
    message = str(refused.value)
    assert "\n" not in message
    assert f"s3://weights/net-corrupt/{victim.key}" in message
    assert "sha256" in message and victim.sha256 in message and victim.path in message
    assert record.verify_failures == 1
    assert not (tmp_path / "out" / victim.path).exists()
    assert list((tmp_path / "out").rglob("*" + PARTIAL_SUFFIX)) == []
    assert not (tmp_path / "out" / VERIFIED_FILE).exists()


def test_a_missing_object_is_final_at_once(
    seaweed: SeaweedS3, net_model: NetModel, tmp_path: Path, store_env: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    uri = seaweed.uri("net-missing")
    push(seaweed.env(seaweed.admin), net_model.weights, uri)
    manifest = build_manifest(net_model.weights, content_addressed=True)
    gone = manifest.files[0]
    for name, value in seaweed.env(seaweed.admin).items():
        store_env.setenv(name, value)
    obstore.delete(open_store(parse_uri(uri), 30), gone.key)
    with caplog.at_level(logging.WARNING), pytest.raises(WeightsFetchError) as missing:
        fetch_weights(parse_uri(uri), tmp_path / "out", FetchOptions(attempts=5), FetchRecord())
    assert str(missing.value) == f"weights object s3://weights/net-missing/{gone.key}: not found"
    assert "retrying" not in caplog.text


def test_a_missing_manifest_names_it(
    seaweed: SeaweedS3, tmp_path: Path, store_env: pytest.MonkeyPatch
) -> None:
    for name, value in seaweed.env(seaweed.reader).items():
        store_env.setenv(name, value)
    with pytest.raises(WeightsFetchError) as missing:
        fetch_weights(parse_uri(seaweed.uri("never-pushed")), tmp_path / "out", FAST, FetchRecord())
    assert str(missing.value) == f"weights manifest s3://weights/never-pushed/{MANIFEST_FILE}: not found"


def test_a_denied_read_is_final_and_says_so(
    seaweed: SeaweedS3, net_model: NetModel, tmp_path: Path, store_env: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    uri = seaweed.uri("net-denied")
    push(seaweed.env(seaweed.admin), net_model.weights, uri)
    for name, value in seaweed.env(seaweed.stranger).items():  # allowed to read another bucket only
        store_env.setenv(name, value)
    with caplog.at_level(logging.WARNING), pytest.raises(WeightsFetchError) as denied:
        fetch_weights(parse_uri(uri), tmp_path / "out", FetchOptions(attempts=5), FetchRecord())
    assert str(denied.value).startswith(
        f"weights manifest s3://weights/net-denied/{MANIFEST_FILE}: read denied"
    )
    assert "403" in str(denied.value)
    assert "retrying" not in caplog.text


def test_a_wrong_azure_key_is_denied(
    azurite: Azurite, net_model: NetModel, tmp_path: Path, store_env: pytest.MonkeyPatch
) -> None:
    push(azurite.env(), net_model.weights, azurite.uri("net-az-denied"))
    store_env.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        azurite.connection_string(key=base64.b64encode(b"not the account key" * 3).decode()),
    )
    with pytest.raises(WeightsFetchError) as denied:
        fetch_weights(parse_uri(azurite.uri("net-az-denied")), tmp_path / "out", FAST, FetchRecord())
    assert "az://weights/net-az-denied/liftoff-weights.json: read denied" in str(denied.value)


def _http_weights(folder: Path, source: Path) -> None:
    """`source` laid out as `push --by-path` would, with its manifest, for the plain HTTP server."""
    for path in source.rglob("*"):
        if path.is_file():
            target = folder / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    (folder / MANIFEST_FILE).write_text(build_manifest(source).dumps())


def test_a_store_that_stalls_mid_object_times_out_naming_it(
    net_model: NetModel, tmp_path: Path, store_env: pytest.MonkeyPatch
) -> None:
    _http_weights(tmp_path / "served", net_model.weights)
    stalled = "model-00001-of-00002.safetensors"
    options = FetchOptions(read_timeout_s=1.0, attempts=2, backoff_s=0.1, stream_piece_bytes=64)
    with PlainHttp(tmp_path / "served") as http:
        http.stall_on.add(stalled)
        with pytest.raises(WeightsFetchError) as stall:
            fetch_weights(parse_uri(http.uri()), tmp_path / "out", options, FetchRecord())
        gets = [r for r in http.requests if r.startswith(f"GET {stalled}")]
    assert str(stall.value) == (
        f"weights object {http.uri()}{stalled}: no data for 1 s (read timeout), after 2 attempts"
    )
    assert len(gets) == 2
    assert not (tmp_path / "out" / stalled).exists()


def test_a_transient_failure_is_retried_with_backoff(
    net_model: NetModel, tmp_path: Path, store_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _http_weights(tmp_path / "served", net_model.weights)
    flaky = "extra/labels.txt"
    with PlainHttp(tmp_path / "served") as http, caplog.at_level(logging.WARNING):
        http.fail_first[flaky] = 2
        report = fetch_weights(
            parse_uri(http.uri()), tmp_path / "out", FetchOptions(attempts=3, backoff_s=0.05), FetchRecord()
        )
    assert report.fetched_files == 3
    assert caplog.text.count(f"{http.uri()}{flaky}: HTTP 503") == 2
    same_files(tmp_path / "out", net_model.weights)


def test_a_restart_finds_verified_files_and_fetches_nothing(
    seaweed: SeaweedS3, net_model: NetModel, tmp_path: Path, store_env: pytest.MonkeyPatch
) -> None:
    uri = seaweed.uri("net-restart")
    push(seaweed.env(seaweed.admin), net_model.weights, uri)
    for name, value in seaweed.env(seaweed.reader).items():
        store_env.setenv(name, value)
    out = tmp_path / "out"
    fetch_weights(parse_uri(uri), out, FAST, FetchRecord())
    before = {p: os.stat(p).st_mtime_ns for p in out.rglob("*.safetensors")}
    again = FetchRecord()
    report = fetch_weights(parse_uri(uri), out, FAST, again)
    assert (report.fetched_files, report.reused_files, again.bytes_fetched) == (0, 3, 0)
    assert {p: os.stat(p).st_mtime_ns for p in out.rglob("*.safetensors")} == before
    # A file changed on disk since it was verified is fetched again; the others are not.
    labels = out / "extra" / "labels.txt"
    labels.write_text("cat\ndog\nfox\n")
    third = FetchRecord()
    report = fetch_weights(parse_uri(uri), out, FAST, third)
    assert (report.fetched_files, report.reused_files) == (1, 2)
    assert labels.read_text() == "cat\ndog\nbird\n"
