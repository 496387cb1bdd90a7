"""The manifest, the `weights` URI and the CLI's `manifest` command: bad input named by field."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from service.weights import load_into, make_weights_local
from service.weights.manifest import MANIFEST_FILE, ManifestError, build_manifest, parse_manifest
from service.weights.source import WeightsSourceError, connection_string_config, parse_uri
from tests.service.weights.conftest import cli

GOOD = {"path": "model.safetensors", "size": 3, "sha256": "a" * 64}


def test_build_manifest_lists_every_file_with_size_and_sha256(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.bin").write_bytes(b"abc")
    (tmp_path / "sub" / "b.bin").write_bytes(b"")
    manifest = build_manifest(tmp_path, content_addressed=True)
    assert [(e.path, e.size, e.sha256, e.key) for e in manifest.files] == [
        ("a.bin", 3, hashlib.sha256(b"abc").hexdigest(), f"blobs/{hashlib.sha256(b'abc').hexdigest()}"),
        ("sub/b.bin", 0, hashlib.sha256(b"").hexdigest(), f"blobs/{hashlib.sha256(b'').hexdigest()}"),
    ]
    assert parse_manifest(manifest.dumps().encode(), "here") == manifest


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({**GOOD, "path": "../etc/passwd"}, "files.0.path"),
        ({**GOOD, "path": "/abs"}, "files.0.path"),
        ({**GOOD, "path": MANIFEST_FILE}, "files.0.path"),
        ({**GOOD, "sha256": "xyz"}, "files.0.sha256"),
        ({**GOOD, "size": -1}, "files.0.size"),
        ({**GOOD, "object": "../other/prefix"}, "files.0.object"),
        ({**GOOD, "colour": "red"}, "files.0.colour"),
    ],
)
def test_a_bad_manifest_entry_is_named_by_field(entry: dict[str, object], field: str) -> None:
    with pytest.raises(ManifestError) as bad:
        parse_manifest(json.dumps({"files": [entry]}).encode(), "s3://b/p/liftoff-weights.json")
    assert str(bad.value).startswith(f"s3://b/p/liftoff-weights.json: {field}: ")


def test_a_path_listed_twice_is_refused() -> None:
    with pytest.raises(ManifestError, match="listed twice"):
        parse_manifest(json.dumps({"files": [GOOD, GOOD]}).encode(), "m")


@pytest.mark.parametrize(
    ("uri", "scheme", "bucket", "prefix"),
    [
        ("s3://bucket/models/net/", "s3", "bucket", "models/net"),
        ("gs://bucket/net", "gs", "bucket", "net"),
        ("az://container/a/b/", "az", "container", "a/b"),
        ("https://example.com/weights/net/", "https", "example.com", "weights/net"),
        ("http://127.0.0.1:9000/w/", "http", "127.0.0.1:9000", "w"),
        ("s3://bucket", "s3", "bucket", ""),
    ],
)
def test_weights_uris_parse(uri: str, scheme: str, bucket: str, prefix: str) -> None:
    source = parse_uri(uri)
    assert (source.scheme, source.bucket, source.prefix) == (scheme, bucket, prefix)


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("ftp://host/x/", "scheme 'ftp' is not one of s3://bucket/prefix/"),
        ("s3:///prefix/", "names no bucket or host"),
        ("http://example.com/w/", "plain http is only allowed to this machine"),
        ("https://example.com/w/?sig=abc", "a query or fragment is not allowed"),
    ],
)
def test_a_bad_weights_uri_says_what_is_allowed(uri: str, says: str) -> None:
    with pytest.raises(WeightsSourceError, match=says.replace("?", r"\?")):
        parse_uri(uri)


def test_an_azure_connection_string_maps_to_the_clients_settings() -> None:
    config = connection_string_config(
        "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/acct/;"
    )
    assert config == {"account_name": "acct", "account_key": "a2V5", "endpoint": "http://127.0.0.1:1/acct"}
    assert connection_string_config("AccountName=acct;AccountKey=a2V5")["endpoint"] == (
        "https://acct.blob.core.windows.net"
    )
    with pytest.raises(WeightsSourceError, match="SharedAccessSignature"):
        connection_string_config("BlobEndpoint=https://x;SharedAccessSignature=sv=1")


def test_weights_dir_is_the_named_folder_or_the_model_directory(tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    (tmp_path / "model.json").write_text(json.dumps({"weights": "weights/"}))
    assert make_weights_local(tmp_path, None, None) == (tmp_path / "weights").resolve()
    (tmp_path / "model.json").write_text(json.dumps({}))
    assert make_weights_local(tmp_path, None, None) == tmp_path
    (tmp_path / "model.json").write_text(json.dumps({"weights": "../elsewhere"}))
    with pytest.raises(WeightsSourceError, match=r"weights '\.\./elsewhere' is neither a URI"):
        make_weights_local(tmp_path, None, None)


def test_load_into_is_strict_about_keys(tmp_path: Path) -> None:
    module = nn.Linear(2, 2)
    save_file({"weight": torch.ones(2, 2)}, tmp_path / "part.safetensors")  # no bias
    with pytest.raises(RuntimeError, match="bias"):
        load_into(module, tmp_path)
    save_file({"bias": torch.zeros(2)}, tmp_path / "part2.safetensors")
    assert torch.equal(load_into(module, tmp_path).weight, torch.ones(2, 2))


def test_cli_manifest_writes_the_manifest_and_names_a_bad_folder(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "a.bin").write_bytes(b"abc")
    done = cli({}, "manifest", str(tmp_path / "w"))
    assert done.returncode == 0, done.stderr
    written = parse_manifest((tmp_path / "w" / MANIFEST_FILE).read_bytes(), "m")
    assert [e.path for e in written.files] == ["a.bin"]
    (tmp_path / "empty").mkdir()
    empty = cli({}, "manifest", str(tmp_path / "empty"))
    assert empty.returncode == 1
    assert empty.stderr.strip() == f"error: {tmp_path / 'empty'} holds no files to list"
