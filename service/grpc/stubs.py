"""The gRPC stubs, compiled from grpc_predict_v2.proto by the pinned grpcio-tools, never committed.

`python -m service.grpc.stubs` compiles them into service/grpc/generated/ (git-ignored): the image's
grpc-stubs stage runs it (the final image ships the modules, not the compiler), `make` runs it when it sets the
venv up, and `load()` does it first when they are missing or were compiled from another .proto (grpcio-tools
is the `grpc-stubs` extra, part of `dev`).

Whether they are current is told by the .proto's hash, recorded beside them, not by file times: a build
context, a cached image layer or a checkout gives files new times, and an image whose .proto looked newer
than its cached stubs tried to compile them at start-up, without a compiler, and served no gRPC.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).parent
PROTO = HERE / "grpc_predict_v2.proto"
GENERATED = HERE / "generated"
STAMP = GENERATED / "__init__.py"
ROOT = HERE.parent.parent
"""protoc writes under ROOT at the proto's virtual path service/grpc/generated/, so the generated modules
import each other as `service.grpc.generated.*`."""


class StubError(ImportError):
    """The stubs could not be compiled: an ImportError, since that is what the caller meets."""


def compile_stubs() -> None:
    from grpc_tools import protoc  # a build-time dependency: only imported when compiling

    GENERATED.mkdir(exist_ok=True)
    STAMP.unlink(missing_ok=True)  # stale until protoc has written every module
    args = [
        "protoc",
        f"--proto_path=service/grpc/generated={HERE}",
        f"--python_out={ROOT}",
        f"--pyi_out={ROOT}",
        f"--grpc_python_out={ROOT}",
        str(PROTO),
    ]
    if protoc.main(args) != 0:
        raise StubError(f"protoc could not compile {PROTO.name}")
    STAMP.write_text(_stamp())


def _stamp() -> str:
    digest = hashlib.sha256(PROTO.read_bytes()).hexdigest()
    return f'"""Compiled by service/grpc/stubs.py from {PROTO.name}; git-ignored."""\n\nPROTO_SHA256 = "{digest}"\n'


def _fresh() -> bool:
    compiled = [GENERATED / "grpc_predict_v2_pb2.py", GENERATED / "grpc_predict_v2_pb2_grpc.py"]
    return all(path.exists() for path in compiled) and STAMP.exists() and STAMP.read_text() == _stamp()


def load() -> tuple[ModuleType, ModuleType]:
    """The messages module and the service module, compiling them first when needed."""
    if not _fresh():
        compile_stubs()
    messages = importlib.import_module("service.grpc.generated.grpc_predict_v2_pb2")
    service = importlib.import_module("service.grpc.generated.grpc_predict_v2_pb2_grpc")
    return messages, service


if __name__ == "__main__":
    compile_stubs()
