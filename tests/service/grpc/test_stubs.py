"""The compiled stubs count as current by the .proto's content, not by file times (an image's build context
and its cached layers give files new times)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from service.grpc import stubs


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the .proto under tmp_path at the path protoc compiles it from, and the stubs module aimed there."""
    here = tmp_path / "service" / "grpc"
    here.mkdir(parents=True)
    shutil.copy(stubs.PROTO, here / stubs.PROTO.name)
    monkeypatch.setattr(stubs, "HERE", here)
    monkeypatch.setattr(stubs, "PROTO", here / stubs.PROTO.name)
    monkeypatch.setattr(stubs, "GENERATED", here / "generated")
    monkeypatch.setattr(stubs, "STAMP", here / "generated" / "__init__.py")
    monkeypatch.setattr(stubs, "ROOT", tmp_path)
    return here


def test_stubs_compiled_from_this_proto_stay_current_when_the_proto_gets_a_newer_time(project: Path) -> None:
    assert not stubs._fresh()  # nothing compiled yet
    stubs.compile_stubs()
    assert (project / "generated" / "grpc_predict_v2_pb2_grpc.py").exists()
    assert stubs._fresh()
    later = stubs.STAMP.stat().st_mtime + 3600
    os.utime(stubs.PROTO, (later, later))  # as a fresh build context or checkout leaves it
    assert stubs._fresh()


def test_stubs_compiled_from_another_proto_are_stale(project: Path) -> None:
    stubs.compile_stubs()
    stubs.PROTO.write_text(stubs.PROTO.read_text() + "\n// a field added later\n")
    assert not stubs._fresh()
    stubs.compile_stubs()
    assert stubs._fresh()


def test_stubs_without_their_stamp_are_stale(project: Path) -> None:
    stubs.compile_stubs()
    stubs.STAMP.unlink()  # protoc stopped before the stamp was written
    assert not stubs._fresh()
