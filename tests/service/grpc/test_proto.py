"""The .proto Liftoff wrote from the specification speaks tritonclient's wire format, field by field.

tritonclient.grpc cannot be imported beside pulumi-policy (its stubs need protobuf 6, pulumi-policy pins 5.29),
so its compiled descriptor is read from the bytes in its service_pb2.py instead of importing that module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

from google.protobuf import descriptor_pb2

from service.grpc import stubs
from service.grpc.metrics import SERVED


def _triton_file(module: str = "service_pb2") -> descriptor_pb2.FileDescriptorProto:
    spec = find_spec("tritonclient")
    assert spec is not None and spec.origin is not None
    source = (Path(spec.origin).parent / "grpc" / f"{module}.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "AddSerializedFile":
            argument = node.args[0]
            assert isinstance(argument, ast.Constant) and isinstance(argument.value, bytes)
            return descriptor_pb2.FileDescriptorProto.FromString(argument.value)
    raise AssertionError(f"tritonclient's {module}.py holds no serialized descriptor")


def _ours() -> descriptor_pb2.FileDescriptorProto:
    messages, _ = stubs.load()
    proto = descriptor_pb2.FileDescriptorProto()
    messages.DESCRIPTOR.CopyToProto(proto)
    return proto


def _messages(
    prefix: str, types: list[descriptor_pb2.DescriptorProto]
) -> Iterator[tuple[str, descriptor_pb2.DescriptorProto]]:
    for message in types:
        name = f"{prefix}.{message.name}"
        yield name, message
        yield from _messages(name, list(message.nested_type))


def _fields(message: descriptor_pb2.DescriptorProto) -> dict[int, tuple[str, int, int, str, bool]]:
    return {
        f.number: (f.name, f.type, f.label, f.type_name, f.HasField("oneof_index")) for f in message.field
    }


def test_every_message_has_tritonclients_field_numbers_names_and_types() -> None:
    triton = dict(_messages(".inference", list(_triton_file().message_type)))
    config = dict(_messages(".inference", list(_triton_file("model_config_pb2").message_type)))
    ours = dict(_messages(".inference", list(_ours().message_type)))
    assert ".inference.ModelInferRequest" in ours and ".inference.ModelConfig" in ours
    for name, message in ours.items():
        if name in config:
            # Triton's model configuration has dozens of members; ours are the ones Liftoff fills, each
            # with Triton's number, name and type.
            theirs = _fields(config[name])
            assert _fields(message).items() <= theirs.items(), name
            continue
        assert name in triton, f"{name} is not in tritonclient's protocol"
        assert _fields(message) == _fields(triton[name]), name


def test_the_datatype_enum_has_tritons_numbers() -> None:
    (theirs,) = [e for e in _triton_file("model_config_pb2").enum_type if e.name == "DataType"]
    (ours,) = [e for e in _ours().enum_type if e.name == "DataType"]
    assert {v.name: v.number for v in ours.value} == {v.name: v.number for v in theirs.value}


def test_every_method_is_tritonclients_with_the_same_types() -> None:
    (triton_service,) = [s for s in _triton_file().service if s.name == "GRPCInferenceService"]
    (our_service,) = _ours().service
    theirs = {m.name: (m.input_type, m.output_type) for m in triton_service.method}
    ours = {m.name: (m.input_type, m.output_type) for m in our_service.method}
    assert set(ours) == {
        "ServerLive",
        "ServerReady",
        "ModelReady",
        "ServerMetadata",
        "ModelMetadata",
        "ModelInfer",
        "ModelConfig",
        "ModelStatistics",
    }
    for name, types in ours.items():
        assert theirs[name] == types, name
    # Every method served has its own metrics label (the health service's are the rest).
    assert set(ours) | {"Check", "Watch"} == SERVED
    assert _ours().package == "inference"
