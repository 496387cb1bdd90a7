"""The listener: API keys as `authorization` metadata, when keys are configured."""

from __future__ import annotations

import socket
from pathlib import Path

import grpc
import pytest

from service.app import create_app
from service.auth import KeyStore
from service.grpc.listener import UNAUTHENTICATED
from service.grpc.servicer import pb, pb_grpc
from service.settings import Settings
from service.state import ServerState
from tests.service.grpc.channel import grpc_channel, ready_state
from tests.service.live import free_port

pytestmark = pytest.mark.anyio


async def test_keys_are_checked_as_authorization_metadata(linear_model: Path) -> None:
    async with (
        ready_state(Settings(model_path=linear_model)) as state,
        grpc_channel(state, KeyStore(["k-123"])) as channel,
    ):
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as without:
            await stub.ServerReady(pb.ServerReadyRequest())
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await stub.ServerReady(pb.ServerReadyRequest(), metadata=[("authorization", "Bearer nope")])
        right = await stub.ServerReady(pb.ServerReadyRequest(), metadata=[("authorization", "Bearer k-123")])
    for refused in (without.value, wrong.value):
        assert refused.code() is grpc.StatusCode.UNAUTHENTICATED and refused.details() == UNAUTHENTICATED
    assert right.ready


async def test_no_keys_configured_means_no_metadata_needed(linear_model: Path) -> None:
    app = create_app(Settings(model_path=linear_model))
    state: ServerState = app.state.liftoff
    async with grpc_channel(state) as channel:
        live = await pb_grpc.GRPCInferenceServiceStub(channel).ServerLive(pb.ServerLiveRequest())
    assert live.live


async def test_the_app_serves_grpc_on_its_port_for_its_lifetime(linear_model: Path) -> None:
    port = free_port()  # released before the app binds it
    app = create_app(Settings(model_path=linear_model, grpc_port=port), serve_grpc=True)
    async with app.router.lifespan_context(app), grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        live = await pb_grpc.GRPCInferenceServiceStub(channel).ServerLive(pb.ServerLiveRequest(), timeout=10)
    assert live.live
    with pytest.raises(ConnectionRefusedError):  # the listener closed with the app
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


async def test_tritons_other_methods_are_unimplemented_with_a_message(linear_model: Path) -> None:
    state: ServerState = create_app(Settings(model_path=linear_model)).state.liftoff
    async with grpc_channel(state) as channel:
        index = channel.unary_unary("/inference.GRPCInferenceService/RepositoryIndex")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await index(b"")
        live = await pb_grpc.GRPCInferenceServiceStub(channel).ServerLive(pb.ServerLiveRequest())
    assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert "Liftoff does not implement RepositoryIndex over gRPC" in (caught.value.details() or "")
    assert live.live  # the servicer's own methods still win over the refusals
